"""Rebuild the shipped sample data sets from the original public files (seeded, so the output is identical).

    python examples/data/make_samples.py --source ../shared/data

SOURCE holds `german-credit/german.data`, `adult/adult.data` and `compas/compas-scores-two-years.csv`
(see NOTICE.md for where each comes from and its licence). Writes, next to this script:
german_credit.csv (all 1,000 rows, codes decoded to readable values, target good_credit 1=good),
adult_sample.csv (4,000 seeded rows of adult.data) and compas_sample.csv (3,000 seeded rows after
ProPublica's standard filter, with names, dates of birth, case numbers and every date dropped).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

SEED = 20240601
HERE = Path(__file__).resolve().parent

GERMAN_COLUMNS = [
    ("checking_status", {"A11": "<0", "A12": "0-200", "A13": ">=200", "A14": "no_account"}),
    ("duration_months", None),
    (
        "credit_history",
        {
            "A30": "no_credits_all_paid",
            "A31": "all_paid_this_bank",
            "A32": "existing_paid",
            "A33": "delayed_previously",
            "A34": "critical_account",
        },
    ),
    (
        "purpose",
        {
            "A40": "car_new",
            "A41": "car_used",
            "A42": "furniture_equipment",
            "A43": "radio_tv",
            "A44": "domestic_appliances",
            "A45": "repairs",
            "A46": "education",
            "A47": "vacation",
            "A48": "retraining",
            "A49": "business",
            "A410": "other",
        },
    ),
    ("credit_amount", None),
    (
        "savings",
        {"A61": "<100", "A62": "100-500", "A63": "500-1000", "A64": ">=1000", "A65": "unknown_no_savings"},
    ),
    ("employment_since", {"A71": "unemployed", "A72": "<1y", "A73": "1-4y", "A74": "4-7y", "A75": ">=7y"}),
    ("installment_rate_pct", None),
    (
        "personal_status_sex",
        {
            "A91": "male_divorced_separated",
            "A92": "female_divorced_separated_married",
            "A93": "male_single",
            "A94": "male_married_widowed",
            "A95": "female_single",
        },
    ),
    ("other_debtors", {"A101": "nobody", "A102": "co_applicant", "A103": "guarantor"}),
    ("residence_since", None),
    (
        "property",
        {
            "A121": "real_estate",
            "A122": "savings_insurance",
            "A123": "car_other",
            "A124": "unknown_no_property",
        },
    ),
    ("age", None),
    ("other_installment_plans", {"A141": "bank", "A142": "stores", "A143": "no_plans"}),
    ("housing", {"A151": "rent", "A152": "own", "A153": "for_free"}),
    ("existing_credits", None),
    (
        "job",
        {
            "A171": "unemployed_unskilled_nonresident",
            "A172": "unskilled_resident",
            "A173": "skilled",
            "A174": "management_self_employed",
        },
    ),
    ("num_dependents", None),
    ("telephone", {"A191": "no", "A192": "yes"}),
    ("foreign_worker", {"A201": "yes", "A202": "no"}),
]

ADULT_COLUMNS = [
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education_num",
    "marital_status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
    "native_country",
    "income",
]

# COMPAS: only what a fairness audit of the score needs. Names, first/last, dob, id, case numbers and all
# dates (which with the charge would re-identify people) are never written.
COMPAS_KEEP = [
    "sex",
    "age",
    "age_cat",
    "race",
    "juv_fel_count",
    "juv_misd_count",
    "juv_other_count",
    "priors_count",
    "c_charge_degree",
    "decile_score",
    "score_text",
    "two_year_recid",
]


def german(source: Path) -> pd.DataFrame:
    import pandas as pd

    raw = pd.read_csv(source / "german-credit" / "german.data", sep=" ", header=None)
    out = pd.DataFrame()
    for i, (name, codes) in enumerate(GERMAN_COLUMNS):
        out[name] = raw[i].map(codes) if codes else raw[i]
        if codes is not None and out[name].isna().any():
            raise SystemExit(f"unknown code in column {name}")
    out["sex"] = out["personal_status_sex"].str.split("_").str[0]
    out["age_group"] = (out["age"] >= 25).map({True: ">=25", False: "<25"})
    out["good_credit"] = (raw[20] == 1).astype(int)
    return out


def adult(source: Path, rows: int = 4000) -> pd.DataFrame:
    import pandas as pd

    raw = pd.read_csv(
        source / "adult" / "adult.data",
        header=None,
        names=ADULT_COLUMNS,
        skipinitialspace=True,
        keep_default_na=False,
    )
    raw = raw[raw["age"].astype(str) != ""]
    return raw.sample(n=rows, random_state=SEED).sort_index().reset_index(drop=True)


def compas(source: Path, rows: int = 3000) -> pd.DataFrame:
    import pandas as pd

    raw = pd.read_csv(source / "compas" / "compas-scores-two-years.csv")
    keep = raw[
        (raw.days_b_screening_arrest.between(-30, 30))
        & (raw.is_recid != -1)
        & (raw.c_charge_degree != "O")
        & (raw.score_text != "N/A")
    ]
    sample = keep.sample(n=min(rows, len(keep)), random_state=SEED).sort_index()
    out = sample[COMPAS_KEEP].reset_index(drop=True)
    out["pred"] = (out["decile_score"] >= 5).astype(int)  # ProPublica: Medium or High counts as "high risk"
    out["score"] = out["decile_score"] / 10.0
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--source",
        default=str(HERE.parents[2] / "shared" / "data"),
        help="folder with the original data sets (default: ../shared/data from the repo root)",
    )
    args = parser.parse_args(argv)
    source = Path(args.source)
    for name, frame in (
        ("german_credit.csv", german(source)),
        ("adult_sample.csv", adult(source)),
        ("compas_sample.csv", compas(source)),
    ):
        frame.to_csv(HERE / name, index=False, lineterminator="\n")
        print(f"wrote {name}: {len(frame)} rows, {frame.shape[1]} columns")


if __name__ == "__main__":
    main()
