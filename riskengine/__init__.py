"""riskengine: AI safety and ethics risk assessment.

Kept import-light on purpose: `riskengine --help` must not pay for pandas,
scikit-learn, fairlearn or ART.
"""

__version__ = "0.1.0"
