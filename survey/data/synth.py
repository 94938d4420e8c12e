"""Synthetic survey waves in the canonical file form of the data contract (``trygghet synth``).

``generate_wave`` simulates, per year × district (the strata), a register population by sex × age group, a
stratified gross sample with unequal allocation (small districts oversampled), and non-response that
depends on sex and age (young men answer least, older women most), so the respondents over-represent
older women and calibration has work to do. Answers come from item-wise logistic models with district
levels, district-specific time trends, sex/age effects and a shared latent "unsafety" per respondent
(so the items correlate), then split into the contract's answer codes, with "vet ej" (9) answers and
blank answers (item non-response) at a few percent. Free-text comments with fake personal data (names,
phone numbers, e-mail addresses, personnummer, addresses; commas, quotes, semicolons, line breaks) are
added to a few percent of the rows.

Everything is vectorised numpy (one million respondents take about two seconds) and deterministic for a
seed. No real person or answer is in the output.
"""
# long-module: the synthetic wave's models (items, districts, comments) belong together

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from survey.errors import InputError

AGE_GROUPS: tuple[str, ...] = ("16-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75-84")
SEXES: tuple[int, ...] = (1, 2)

#: Area names from Sundbyberg, Upplands Väsby and their neighbours (Sollentuna, Stockholm), in the order
#: they are used. ``TINY_DISTRICT`` is kept out of the list: it is the extra small area.
DISTRICT_NAMES: tuple[str, ...] = (
    "Rissne",
    "Hallonbergen",
    "Ursvik",
    "Duvbo",
    "Älvsjö-Ängby",
    "Storskogen",
    "Centrala Sundbyberg",
    "Ör",
    "Lilla Alby",
    "Brotorp",
    "Runby",
    "Fresta",
    "Bollstanäs",
    "Vilunda",
    "Sigma",
    "Grimstaby",
    "Edsberg",
    "Tureberg",
    "Helenelund",
    "Häggvik",
    "Rotebro",
    "Norrviken",
    "Smedby",
    "Breddby",
    "Odenslunda",
    "Vaxmora",
    "Kista",
    "Hjulsta",
)
TINY_DISTRICT = "Väsby centrum"

#: Prior position on a 0 (calm) .. 1 (troubled) scale for some names, so that the well-known areas get
#: plausible levels; other areas draw theirs at random.
_TROUBLE_PRIOR: dict[str, float] = {
    "Hallonbergen": 0.95,
    "Rissne": 0.8,
    "Sigma": 0.75,
    "Hjulsta": 0.9,
    "Kista": 0.7,
    "Runby": 0.55,
    "Centrala Sundbyberg": 0.5,
    "Ör": 0.65,
    "Storskogen": 0.3,
    "Duvbo": 0.2,
    "Älvsjö-Ängby": 0.05,
    "Edsberg": 0.1,
    "Bollstanäs": 0.1,
    "Ursvik": 0.35,
    "Lilla Alby": 0.45,
    "Väsby centrum": 0.6,
}

RESPONSE_COLUMNS_HEAD: tuple[str, ...] = (
    "resp_id",
    "year",
    "district",
    "sex",
    "age_group",
    "born_abroad",
    "design_weight",
)

# Item models. For item k, respondent i:  P(numerator) = expit(base + trouble·z_d + trend·t + sex + age + load·u_i)
# base: logit at trouble z = 0; trouble: slope in z (district level); trend: common slope per year (logit);
# women: effect of being a woman (men 0); age: effect per age group; load: loading on the shared latent u;
# dk: share of "vet ej" (9); blank: share of blank answers. The numerator/complement codes are split below.
_AGE_FEAR = (0.15, -0.1, -0.25, -0.2, -0.05, 0.3, 0.65)
_AGE_VICT = (0.7, 0.45, 0.1, -0.1, -0.35, -0.7, -0.9)
_ITEM_MODELS: dict[str, dict] = {
    "q_safe_after_dark": dict(
        base=-2.85, trouble=2.4, trend=-0.07, women=0.95, age=_AGE_FEAR, load=1.0, dk=0.015, blank=0.02
    ),
    "q_worry_crime": dict(
        base=-0.9,
        trouble=1.0,
        trend=-0.04,
        women=0.55,
        age=(-0.3, -0.2, 0, 0.1, 0.2, 0.3, 0.35),
        load=0.8,
        dk=0.02,
        blank=0.02,
    ),
    "q_problem_littering": dict(
        base=-0.7, trouble=1.5, trend=0.05, women=0.1, age=(0,) * 7, load=0.5, dk=0.04, blank=0.025
    ),
    "q_problem_dark_places": dict(
        base=-1.1,
        trouble=1.3,
        trend=-0.05,
        women=0.35,
        age=(0, 0, 0, 0, 0.05, 0.1, 0.2),
        load=0.6,
        dk=0.06,
        blank=0.025,
    ),
    "q_problem_graffiti": dict(
        base=-1.5,
        trouble=2.0,
        trend=0.03,
        women=0.0,
        age=(-0.2, -0.1, 0, 0, 0.1, 0.2, 0.2),
        load=0.5,
        dk=0.07,
        blank=0.025,
    ),
    "q_problem_vandalism": dict(
        base=-1.9, trouble=2.2, trend=-0.03, women=0.05, age=(0,) * 7, load=0.5, dk=0.085, blank=0.025
    ),
    "q_problem_youth_groups": dict(
        base=-1.8,
        trouble=2.4,
        trend=0.06,
        women=0.2,
        age=(-0.4, -0.2, 0, 0.1, 0.2, 0.3, 0.3),
        load=0.7,
        dk=0.11,
        blank=0.03,
    ),
    "q_problem_drug_dealing": dict(
        base=-2.8,
        trouble=3.0,
        trend=0.08,
        women=0.1,
        age=(0.2, 0.1, 0, 0, 0, -0.1, -0.2),
        load=0.6,
        dk=0.16,
        blank=0.025,
    ),
    "q_problem_drunk_people": dict(
        base=-2.0, trouble=2.0, trend=-0.02, women=0.15, age=(0,) * 7, load=0.5, dk=0.09, blank=0.025
    ),
    "q_problem_traffic": dict(
        base=-0.4,
        trouble=0.4,
        trend=0.02,
        women=0.1,
        age=(-0.2, 0, 0.1, 0.1, 0.1, 0.1, 0),
        load=0.3,
        dk=0.05,
        blank=0.03,
    ),
    "q_victim_violence": dict(
        base=-3.1, trouble=1.2, trend=0.02, women=-0.35, age=_AGE_VICT, load=0.3, dk=0.009, blank=0.03
    ),
    "q_victim_theft": dict(
        base=-2.1,
        trouble=0.8,
        trend=-0.03,
        women=0.0,
        age=(0.3, 0.3, 0.1, 0, -0.1, -0.3, -0.5),
        load=0.2,
        dk=0.006,
        blank=0.03,
    ),
    "q_victim_vandalism": dict(
        base=-2.6,
        trouble=0.9,
        trend=0.0,
        women=-0.1,
        age=(0, 0.1, 0.1, 0.1, 0, -0.1, -0.3),
        load=0.2,
        dk=0.006,
        blank=0.03,
    ),
    "q_police_care": dict(
        base=-0.2,
        trouble=-0.9,
        trend=0.04,
        women=0.05,
        age=(-0.3, -0.2, -0.1, 0, 0.1, 0.3, 0.4),
        load=-0.4,
        dk=0.23,
        blank=0.03,
    ),
}
#: The contract's 14 items in file order (they give 15 indicators: q_safe_after_dark gives two).
ITEMS: tuple[str, ...] = tuple(_ITEM_MODELS)

# Register population: age structure (share of 16-84), share of men per age group.
_AGE_SHARE = np.array([0.125, 0.19, 0.175, 0.16, 0.14, 0.12, 0.09])
_MEN_SHARE = np.array([0.515, 0.51, 0.505, 0.505, 0.495, 0.47, 0.44])
# Response propensity by sex × age before scaling to the stratum's response rate (young men lowest,
# older women highest).
_RESPONSE = np.array(
    [
        [0.22, 0.27, 0.36, 0.44, 0.54, 0.64, 0.60],  # men
        [0.33, 0.40, 0.48, 0.56, 0.66, 0.78, 0.74],
    ]
)  # women

_FIRST = (
    "Anna",
    "Erik",
    "Karin",
    "Lars",
    "Fatima",
    "Mohammed",
    "Sofia",
    "Johan",
    "Åsa",
    "Örjan",
    "Linnéa",
    "Göran",
    "Märta",
    "Pär",
    "Ebba",
    "Björn",
    "Ingrid",
    "Ahmed",
    "Elin",
    "Nils",
)
_LAST = (
    "Andersson",
    "Johansson",
    "Karlsson",
    "Nilsson",
    "Svensson",
    "Öberg",
    "Hägg",
    "Åkesson",
    "Ström",
    "Bäckström",
    "Lindqvist",
    "Ali",
    "Hassan",
    "Yilmaz",
    "Eriksson",
    "Persson",
)
_STREETS = (
    "Storgatan",
    "Sturegatan",
    "Landsvägen",
    "Rissneleden",
    "Hallonbergsplan",
    "Duvbovägen",
    "Ursviksvägen",
    "Björnvägen",
    "Kvarnbacksvägen",
    "Ängbyplan",
    "Centralvägen",
    "Runby torg",
)


def _ascii(names: tuple[str, ...]) -> np.ndarray:
    """Lower-case e-mail-safe versions of names (å/ä → a, ö → o, é → e)."""
    table = str.maketrans({"å": "a", "ä": "a", "ö": "o", "é": "e", "Å": "a", "Ä": "a", "Ö": "o"})
    return np.array([n.translate(table).lower() for n in names])


def _largest_remainder(total: int, shares: np.ndarray) -> np.ndarray:
    """Integers proportional to ``shares`` that add up to ``total`` exactly (Hamilton's method)."""
    raw = total * shares / shares.sum()
    out = np.floor(raw).astype(np.int64)
    rest = total - int(out.sum())
    if rest > 0:
        out[np.argsort(-(raw - out), kind="stable")[:rest]] += 1
    return out


def _district_names(districts: int) -> list[str]:
    """The first ``districts`` names of ``DISTRICT_NAMES``, then numbered names (code-point order = number)."""
    names = list(DISTRICT_NAMES[:districts])
    width = len(str(districts))
    names += [f"Delområde {k:0{width}d}" for k in range(len(names) + 1, districts + 1)]
    return names


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _zfill(values: np.ndarray, width: int) -> np.ndarray:
    return np.strings.zfill(values.astype(np.int64).astype(str), width)


def _phones(rng: np.random.Generator, k: int) -> np.ndarray:
    """Fake Swedish phone numbers in four common spellings."""
    a, b, c = rng.integers(100, 1000, k), rng.integers(0, 100, k), rng.integers(0, 100, k)
    mob = np.strings.add("07", rng.integers(0, 10, k).astype(str))
    a_, b_, c_ = a.astype(str), _zfill(b, 2), _zfill(c, 2)
    spelled = [
        np.strings.add(
            np.strings.add(np.strings.add(np.strings.add(np.strings.add(mob, "-"), a_), " "), b_),
            np.strings.add(" ", c_),
        ),
        np.strings.add(np.strings.add(np.strings.add("08-", a_), np.strings.add(" ", b_)), np.strings.add(" ", c_)),
        np.strings.add(
            np.strings.add(np.strings.add("+46 7", rng.integers(0, 10, k).astype(str)), np.strings.add(" ", a_)),
            np.strings.add(np.strings.add(" ", b_), np.strings.add(" ", c_)),
        ),
        np.strings.add(np.strings.add(mob, a_), np.strings.add(b_, c_)),
    ]
    kind = rng.integers(0, 4, k)
    out = np.empty(k, dtype=object)
    for j, s in enumerate(spelled):
        out[kind == j] = s[kind == j]
    return out


def _personnummer(rng: np.random.Generator, birth_year: np.ndarray) -> np.ndarray:
    """Fake personnummer YYYYMMDD-NNNC with a valid Luhn check digit."""
    k = len(birth_year)
    month, day, serial = rng.integers(1, 13, k), rng.integers(1, 29, k), rng.integers(0, 1000, k)
    digits = np.stack(
        [
            (birth_year // 10) % 10,
            birth_year % 10,
            month // 10,
            month % 10,
            day // 10,
            day % 10,
            serial // 100,
            (serial // 10) % 10,
            serial % 10,
        ],
        axis=1,
    )
    prod = digits * np.array([2, 1, 2, 1, 2, 1, 2, 1, 2])
    check = (10 - (prod // 10 + prod % 10).sum(axis=1) % 10) % 10
    date = np.strings.add(np.strings.add(birth_year.astype(str), _zfill(month, 2)), _zfill(day, 2))
    return np.strings.add(np.strings.add(date, "-"), np.strings.add(_zfill(serial, 3), check.astype(str)))


def _comments(rng: np.random.Generator, district: np.ndarray, birth_year: np.ndarray) -> np.ndarray:
    """Free-text comments (object array of str) for the given respondents; fake personal data throughout."""
    k = len(district)
    fi, li = rng.integers(0, len(_FIRST), k), rng.integers(0, len(_LAST), k)
    first, last = np.array(_FIRST, dtype=object)[fi], np.array(_LAST, dtype=object)[li]
    email = (
        _ascii(_FIRST)[fi].astype(object)
        + "."
        + _ascii(_LAST)[li].astype(object)
        + rng.integers(1, 100, k).astype(str).astype(object)
        + "@exempel.se"
    )
    address = (
        np.array(_STREETS, dtype=object)[rng.integers(0, len(_STREETS), k)]
        + " "
        + rng.integers(1, 60, k).astype(str).astype(object)
    )
    phone = _phones(rng, k)
    pnr = _personnummer(rng, birth_year).astype(object)
    district = district.astype(object)
    templates = [
        lambda: np.full(k, "För mycket skräp i parken; papperskorgarna töms aldrig.", dtype=object),
        lambda: "Min granne " + first + " blev rånad förra året, polisen gjorde ingenting. Tel " + phone,
        lambda: "Hej!\nJag känner mig trygg i " + district + ".\nMvh " + first + " " + last + ", " + phone,
        lambda: 'Skriv "trygghet" med stort T! Hälsningar ' + first + " " + last + ", " + address,
        lambda: "Det är mörkt vid " + address + ", någon borde fixa belysningen.",
        lambda: "Bra att ni frågar! /" + first,
        lambda: (
            "Jag heter " + first + " " + last + " och bor på " + address + ". Grannarna spelar hög musik varje helg."
        ),
        lambda: "Kontakta " + first + " på " + email + " eller " + phone + " angående klotter på " + address + ".",
        lambda: "Mejla mig: " + email,
        lambda: "Personnummer " + pnr + " om ni behöver det.",
        lambda: "Ring mig gärna på " + phone + ", " + first + " " + last,
        lambda: "Ungdomsgäng vid tunnelbanan i " + district + "; känner mig otrygg på kvällarna.",
        lambda: np.full(k, "Inga problem här.", dtype=object),
        lambda: 'Det "nya" torget är fint, men: mer belysning, fler poliser; färre mopeder.\n/' + first,
        lambda: np.full(k, "Bilarna kör för fort på 30-sträckan, särskilt på kvällen.", dtype=object),
    ]
    which = rng.integers(0, len(templates), k)
    out = np.empty(k, dtype=object)
    for j, make in enumerate(templates):
        sel = which == j
        if sel.any():
            out[sel] = make()[sel]
    return out


def _population(rng: np.random.Generator, years: int, names: list[str], tiny: bool) -> np.ndarray:
    """Register counts, shape (years, districts, 2 sexes, 7 age groups), before any scaling."""
    d = len(names)
    total = np.exp(rng.normal(np.log(9000), 0.45, d)).clip(3000, 22000)
    if tiny:
        total[-1] = rng.uniform(800, 900)
    # district age structure: Dirichlet tilt around the common structure
    age = rng.dirichlet(_AGE_SHARE * 60, d)  # (d, 7)
    men = (_MEN_SHARE + rng.normal(0, 0.01, (d, 7))).clip(0.4, 0.6)
    base = total[:, None, None] * np.stack([men, 1 - men], axis=1) * age[:, None, :]  # (d, 2, 7)
    growth = rng.normal(0.01, 0.012, d)
    t = np.arange(years)[:, None, None, None]
    pop = base[None] * (1 + growth[None, :, None, None]) ** t * rng.normal(1, 0.015, (years, d, 2, 7))
    return pop


def generate_wave(  # long: the simulation reads top to bottom; its parts are helpers already
    n: int,
    districts: int,
    years: int,
    seed: int,
    *,
    first_year: int = 2022,
    tiny_district: bool = False,
    comments: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate one survey wave; returns ``(responses, population)`` in the contract's canonical file form.

    ``n`` respondents in total (exactly) over ``years`` years (``first_year`` …) and ``districts`` districts
    (plus, with ``tiny_district``, the small area ``Väsby centrum`` with 14–29 respondents a year, taken out
    of ``n``). Every year × district has respondents of both sexes and of all seven age groups, and at least
    one age group with both sexes (so the raking to district × sex and district × age_group is feasible and
    of full rank). ``design_weight`` is N_h / n_h with n_h the gross sample of the stratum. The population
    is scaled up when needed so that no gross sample exceeds half its stratum (only for very large ``n``).
    With ``comments=False`` the optional ``comment`` column is left out.

    Responses columns: ``resp_id`` (str, zero-padded, numbered afresh each year), ``year`` (int64),
    ``district`` (str), ``sex`` (int64), ``age_group`` (str), ``born_abroad`` (Int64), ``design_weight``
    (float64, equal to its 6-decimal CSV spelling), the 14 ``q_*`` items (Int64, ``<NA>`` = blank),
    ``comment`` (str, NaN when none). Population: ``year``, ``district``, ``sex``, ``age_group``,
    ``population`` (int64), one row per cell.
    """
    if min(n, districts, years) < 1:
        raise InputError(
            f"synth: antal svarande, områden och år måste vara minst 1 (fick --n {n}, --districts {districts}, "
            f"--years {years})"
        )
    rng = np.random.default_rng(seed)
    names = _district_names(districts) + ([TINY_DISTRICT] if tiny_district else [])
    n_d = len(names)
    min_per_stratum = 8  # 7 age groups, one of them with both sexes
    tiny_n = rng.integers(14, 30, years) if tiny_district else np.zeros(years, dtype=np.int64)
    n_main = n - int(tiny_n.sum())
    if n_main < min_per_stratum * years * districts:
        raise InputError(
            f"synth: --n {n} är för litet för {years} år × {n_d} områden: varje år och område behöver "
            f"minst {min_per_stratum} svarande för att kalibreringen ska gå att lösa"
        )

    # district levels: a 'trouble' score z (drives every indicator), response rate, born-abroad share
    z = np.array([_TROUBLE_PRIOR.get(nm, np.nan) for nm in names])
    z = np.where(np.isnan(z), rng.uniform(0.0, 1.0, n_d), z + rng.normal(0, 0.04, n_d)).clip(0, 1)
    resp_rate = (0.62 - 0.25 * z + rng.normal(0, 0.03, n_d)).clip(0.3, 0.7)
    p_abroad = (0.12 + 0.45 * z + rng.normal(0, 0.04, n_d)).clip(0.05, 0.75)

    # population and allocation: net sample ∝ sqrt(N_yd) (small districts oversampled), exact total n
    pop = _population(rng, years, names, tiny_district)
    n_yd = np.zeros((years, n_d), dtype=np.int64)
    main = slice(0, districts)
    alloc_share = np.sqrt(pop[:, main].sum(axis=(2, 3))) * rng.uniform(0.95, 1.05, (years, districts))
    n_yd[:, main] = min_per_stratum + _largest_remainder(
        n_main - min_per_stratum * years * districts, alloc_share.ravel()
    ).reshape(years, districts)
    if tiny_district:
        n_yd[:, -1] = tiny_n
    # response propensity per cell, scaled to the stratum's response rate (realised rate r_yd)
    rate_yd = (resp_rate[None, :] + rng.normal(0, 0.02, (years, n_d))).clip(0.25, 0.75)
    rho = _RESPONSE[None, None] * (rate_yd / 0.5)[:, :, None, None]
    rho = rho.clip(0.02, 0.95)  # (y, d, 2, 7)
    r_real = (pop * rho).sum(axis=(2, 3)) / pop.sum(axis=(2, 3))
    n_gross = np.ceil(n_yd / r_real).astype(np.int64)
    # scale the population when a gross sample would exceed half of its stratum
    scale = max(1.0, float((n_gross / (0.5 * pop.sum(axis=(2, 3)))).max()))
    pop = np.maximum(np.rint(pop * scale), 5).astype(np.int64)
    N_yd = pop.sum(axis=(2, 3))

    counts = _cell_counts(rng, pop, rho, n_yd, min_per_stratum)

    cell = np.repeat(np.arange(years * n_d * 14), counts.ravel())
    m = len(cell)
    y_i, rem = np.divmod(cell, n_d * 14)
    d_i, rem = np.divmod(rem, 14)
    s_i, a_i = np.divmod(rem, 7)
    order = np.lexsort((rng.random(m), y_i))  # shuffle within year
    y_i, d_i, s_i, a_i = y_i[order], d_i[order], s_i[order], a_i[order]

    answers = _answers(rng, z, years, n_d, y_i, d_i, s_i, a_i)

    born_abroad = rng.random(m) < (p_abroad[d_i] * np.array([1.0, 1.2, 1.25, 1.1, 0.9, 0.7, 0.55])[a_i]).clip(0, 1)

    return _frames(
        rng, names, first_year, years, n_d, y_i, d_i, s_i, a_i, answers, born_abroad, pop, N_yd / n_gross, comments
    )


def _cell_counts(
    rng: np.random.Generator, pop: np.ndarray, rho: np.ndarray, n_yd: np.ndarray, min_per_stratum: int
) -> np.ndarray:
    """Respondents per year × district × sex × age cell: a fixed feasible core of ``min_per_stratum``
    (every age group, one of them with both sexes) plus a multinomial by population × response propensity."""
    years, n_d = n_yd.shape
    core = np.zeros((years, n_d, 2, 7), dtype=np.int64)
    core_sex = rng.integers(0, 2, (years, n_d, 7))
    np.put_along_axis(core, core_sex[:, :, None, :], 1, axis=2)
    both = rng.integers(0, 7, (years, n_d))  # the age group with both sexes
    yy, dd = np.meshgrid(np.arange(years), np.arange(n_d), indexing="ij")
    core[yy, dd, 1 - core_sex[yy, dd, both], both] += 1
    probs = (pop * rho).reshape(years * n_d, 14)
    probs = probs / probs.sum(axis=1, keepdims=True)
    extra = rng.multinomial((n_yd - min_per_stratum).ravel(), probs).reshape(years, n_d, 2, 7)
    counts = core + extra
    return counts


def _answers(
    rng: np.random.Generator,
    z: np.ndarray,
    years: int,
    n_d: int,
    y_i: np.ndarray,
    d_i: np.ndarray,
    s_i: np.ndarray,
    a_i: np.ndarray,
) -> dict[str, pd.arrays.IntegerArray]:
    """Every item's answer codes: item-wise logistic models with a shared latent ``u`` (items correlate),
    district idiosyncrasies and trends, "vet ej" and blanks."""
    m = len(y_i)
    u = rng.normal(0.0, 1.0, m)
    dist_dev = {k: rng.normal(0, 0.25, n_d) for k in _ITEM_MODELS}  # district idiosyncrasies
    dist_slope = {k: rng.normal(0, 0.04, n_d) for k in _ITEM_MODELS}  # district-specific trends
    answers: dict[str, pd.arrays.IntegerArray] = {}
    block_blank = rng.random(m) < 0.012  # skipped the whole problem block
    old = a_i >= 5
    for k, par in _ITEM_MODELS.items():
        lin = (
            (par["base"] + par["trouble"] * z + dist_dev[k])[None, :, None, None]
            + ((par["trend"] + dist_slope[k])[None, :] * np.arange(years)[:, None])[:, :, None, None]
            + np.array([0.0, par["women"]])[None, None, :, None]
            + np.array(par["age"])[None, None, None, :]
        )
        eta = lin.ravel()[((y_i * n_d + d_i) * 2 + s_i) * 7 + a_i] + par["load"] * u
        yes = rng.random(m) < _expit(eta)
        sub = rng.random(m)
        if k == "q_safe_after_dark":
            # unsafe: 3 ganska otrygg, 4 mycket otrygg, 5 går inte ut pga otrygghet (more among the old)
            p5 = 0.06 + 0.035 * a_i + 0.04 * s_i
            code = np.where(
                yes, np.where(sub < p5, 5, np.where(sub < p5 + 0.3, 4, 3)), np.where(sub < 0.42 - 0.08 * s_i, 1, 2)
            )
            other = rng.random(m) < np.array([0.01, 0.01, 0.012, 0.015, 0.025, 0.05, 0.1])[a_i]
            code = np.where(other, 6, code)  # går inte ut av andra skäl
        elif k.startswith("q_victim_"):
            code = np.where(yes, 1, 2)
        else:
            code = np.where(yes, np.where(sub < 0.28, 1, 2), np.where(sub < 0.62, 3, 4))
        dk_rate = par["dk"] * (1.3 if k.startswith("q_problem_") else 1.0) * np.where(old, 1.3, 0.9)
        code = np.where(rng.random(m) < dk_rate, 9, code)
        blank = rng.random(m) < par["blank"] * np.where(a_i == 6, 1.6, 1.0)
        if k.startswith("q_problem_"):
            blank |= block_blank
        answers[k] = pd.arrays.IntegerArray(np.where(blank, 0, code).astype(np.int64), blank)

    return answers


def _frames(
    rng: np.random.Generator,
    names: list[str],
    first_year: int,
    years: int,
    n_d: int,
    y_i: np.ndarray,
    d_i: np.ndarray,
    s_i: np.ndarray,
    a_i: np.ndarray,
    answers: dict[str, pd.arrays.IntegerArray],
    born_abroad: np.ndarray,
    pop: np.ndarray,
    design_weight: np.ndarray,
    comments: bool,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The responses and population frames in canonical file form (ids, design weights, comments)."""
    m = len(y_i)
    # resp_id: numbered afresh each year, zero-padded to a common width (at least 5)
    year_counts = np.bincount(y_i, minlength=years)
    starts = np.concatenate([[0], np.cumsum(year_counts)[:-1]])
    seq = np.arange(m) - starts[y_i] + 1
    width = max(5, len(str(int(year_counts.max()))))
    # design weight N_h / n_gross_h, stored as its 6-decimal CSV spelling so files round-trip exactly
    dw = np.array([float(f"{v:.6f}") for v in design_weight.ravel()]).reshape(years, n_d)

    names_arr = np.array(names, dtype=object)
    responses = pd.DataFrame(
        {
            "resp_id": pd.array(_zfill(seq, width), dtype="str"),
            "year": (first_year + y_i).astype(np.int64),
            "district": pd.array(names_arr[d_i], dtype="str"),
            "sex": (s_i + 1).astype(np.int64),
            "age_group": pd.array(np.array(AGE_GROUPS, dtype=object)[a_i], dtype="str"),
            "born_abroad": pd.array(born_abroad.astype(np.int64), dtype="Int64"),
            "design_weight": dw[y_i, d_i],
            **{k: answers[k] for k in ITEMS},
        }
    )
    if comments:
        has = rng.random(m) < 0.04
        text = np.full(m, np.nan, dtype=object)
        idx = np.flatnonzero(has)
        birth = first_year + y_i[idx] - np.array([20, 30, 40, 50, 60, 70, 80])[a_i[idx]] + rng.integers(-4, 5, len(idx))
        text[idx] = _comments(rng, names_arr[d_i[idx]], birth)
        responses["comment"] = pd.array(text, dtype="str")

    py, pd_, ps, pa = np.meshgrid(np.arange(years), np.arange(n_d), np.arange(2), np.arange(7), indexing="ij")
    population = pd.DataFrame(
        {
            "year": (first_year + py.ravel()).astype(np.int64),
            "district": pd.array(names_arr[pd_.ravel()], dtype="str"),
            "sex": (ps.ravel() + 1).astype(np.int64),
            "age_group": pd.array(np.array(AGE_GROUPS, dtype=object)[pa.ravel()], dtype="str"),
            "population": pop.ravel().astype(np.int64),
        }
    )
    return responses, population


def write_wave(responses: pd.DataFrame, population: pd.DataFrame, out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``responses.csv`` and ``population.csv`` into ``out_dir`` like the shared sample wave.

    UTF-8 without BOM, comma separated, ``\\n`` line ends, fields quoted only when needed (comments with
    commas, quotes or line breaks), a blank field for a blank answer, ``design_weight`` with 6 decimals.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rpath, ppath = out / "responses.csv", out / "population.csv"
    responses.to_csv(rpath, index=False, encoding="utf-8", lineterminator="\n", float_format="%.6f", na_rep="")
    population.to_csv(ppath, index=False, encoding="utf-8", lineterminator="\n")
    return rpath, ppath


def synth_command(
    n: int, districts: int, years: int, seed: int, out: Path, tiny_district: bool, *, lang: str = "sv"
) -> None:
    """``trygghet synth``: generate a wave and write ``OUT/responses.csv`` and ``OUT/population.csv``; prints
    a one-line summary in Swedish (``lang="en"``: English)."""
    responses, population = generate_wave(n, districts, years, seed, tiny_district=tiny_district)
    rpath, ppath = write_wave(responses, population, out)
    n_years = responses["year"].nunique()
    n_dist = responses["district"].nunique()
    if lang == "en":
        print(
            f"synth: {len(responses):,} respondents, {n_years} years × {n_dist} districts "
            f"({len(population):,} population cells), seed {seed}"
        )
    else:
        nr, npop = (f"{k:,}".replace(",", "\u00a0") for k in (len(responses), len(population)))
        print(f"synth: {nr} svarande, {n_years} år × {n_dist} områden ({npop} befolkningsceller), slumpfrö {seed}")
    print(f"  {rpath}\n  {ppath}")
