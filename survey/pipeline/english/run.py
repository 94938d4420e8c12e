"""English messages of a run and of publishing (``survey/pipeline``, ``reports``, ``flows``): options and
configuration files, progress and notes, the steps through the database, compare and export, the report's notes,
the flows' errors. Keys: the Swedish templates of the source (see :mod:`survey.pipeline.english`)."""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    # --- words of a list -----------------------------------------------------------------------------------------
    "{} eller {}": "{} or {}",
    # --- the run configuration (survey/pipeline/config.py) --------------------------------------------------------
    "Ange --{}: filen saknas i konfigurationen.": "Give --{}: the file is missing from the configuration.",
    "Filen {} finns inte (eller är ingen fil).": "The file {} does not exist (or is not a file).",
    "Utkatalogen {} är en fil och ingen mapp; välj en annan --out.": (
        "The output folder {} is a file, not a folder; choose another --out."
    ),
    "Kan inte skapa utkatalogen {}: {} är en fil; välj en annan --out.": (
        "Cannot create the output folder {}: {} is a file; choose another --out."
    ),
    "Utkatalogen {} går inte att skapa i {} ({}); välj en annan --out.": (
        "The output folder {} cannot be created in {} ({}); choose another --out."
    ),
    "Utkatalogen {} går inte att skriva i; välj en annan --out.": (
        "The output folder {} cannot be written to; choose another --out."
    ),
    "Okänd inställning {}.{} Tillåtna: {}.": "Unknown setting {}.{} Allowed: {}.",
    " Menade du {}?": " Did you mean {}?",
    "Ogiltigt värde {} för {}. Tillåtna värden: {}.": "Invalid value {} for {}. Allowed values: {}.",
    "{} måste vara {} {}, inte {}.": "{} must be {} {}, not {}.",
    "{} måste vara {}, inte {}.": "{} must be {}, not {}.",
    "{} behöver minst {} värde, inte {}.": "{} needs at least {} value, not {}.",
    "ett tal": "a number",
    "ett textvärde": "a text",
    "true eller false": "true or false",
    "{} {} finns inte.": "{} {} does not exist.",
    "{} {} är inte giltig YAML: {}{}": "{} {} is not valid YAML: {}{}",
    "rad {}, kolumn {}: ": "row {}, column {}: ",
    "Konfigurationsfilen": "The configuration file",
    "Konfigurationsfilen {} ska vara en YAML-mappning (nyckel: värde).": (
        "The configuration file {} should be a YAML mapping (key: value)."
    ),
    "{}: skriv VARIABEL eller VARIABEL:MINSTA, där VARIABEL är en av {} och MINSTA ett heltal ≥ 1 (t.ex. "
    "age_group:5)": (
        "{}: write VARIABLE or VARIABLE:SMALLEST, where VARIABLE is one of {} and SMALLEST an integer ≥ 1 (e.g. "
        "age_group:5)"
    ),
    "{} kan inte vara en hjälpvariabel: ange namnet på en numerisk kolumn som finns i både svarsfilen och "
    "befolkningsfilen (t.ex. born_abroad), inte {} eller en fråga q_*": (
        "{} cannot be an auxiliary variable: give the name of a numeric column found in both the responses file and "
        "the population file (e.g. born_abroad), not {} or a question q_*"
    ),
    "samma hjälpvariabel är angiven två gånger": "the same auxiliary variable is given twice",
    "måste vara ett ändligt tal": "must be a finite number",
    "--method logit: logit-kalibrering kräver både lower och upper (gränser för g-vikterna), t.ex. lower: 0.3 och "
    "upper: 3": (
        "--method logit: logit calibration needs both lower and upper (bounds for the g-weights), e.g. lower: 0.3 and "
        "upper: 3"
    ),
    "--method logit med --lower/--upper: logit-kalibreringens gränser kan inte hållas: lower = {} och upper = {}, men "
    "det måste gälla 0 ≤ lower < 1 < upper": (
        "--method logit with --lower/--upper: the logit calibration's bounds cannot hold: lower = {} and upper = {}, "
        "but 0 ≤ lower < 1 < upper must hold"
    ),
    "--lower ({}) måste vara mindre än upper ({})": "--lower ({}) must be less than upper ({})",
    "--nonresponse {} kräver --gross-sample FIL (bruttourvalet med både svarande och bortfall); utan bruttourval går "
    "det bara med --nonresponse none": (
        "--nonresponse {} needs --gross-sample FILE (the gross sample with both respondents and nonrespondents); "
        "without a gross sample only --nonresponse none works"
    ),
    "--pool {} med --variance {}: sammanslagna år skattas bara med Taylorlinjärisering; ange --variance "
    "linearisation eller --pool 1": (
        "--pool {} with --variance {}: pooled years are estimated only with Taylor linearisation; give --variance "
        "linearisation or --pool 1"
    ),
    "--trim-lower/--trim-upper: trimgränserna måste omsluta 1: trim_lower < 1 < trim_upper": (
        "--trim-lower/--trim-upper: the trim bounds must enclose 1: trim_lower < 1 < trim_upper"
    ),
    # --- survey configurations (survey/pipeline/surveys.py) -------------------------------------------------------
    "ange antingen folder eller responses och population, inte båda": (
        "give either folder or responses and population, not both"
    ),
    "ange både responses och population (eller folder)": "give both responses and population (or folder)",
    "{}: ange både responses och population.": "{}: give both responses and population.",
    "{}: katalogen {} finns inte.": "{}: the folder {} does not exist.",
    "{}: katalogen {} ska innehålla exakt en {}-fil ({}.csv/.xlsx/.sav/.parquet), men har {}.": (
        "{}: the folder {} should hold exactly one {} file ({}.csv/.xlsx/.sav/.parquet), but has {}."
    ),
    "ingen": "none",
    "databas-URL:en innehåller ett lösenord; skriv aldrig lösenordet i konfigurationen: använd db_env (en "
    "miljövariabel), db_secret (ett Prefect Secret-block) eller PGPASSWORD/~/.pgpass": (
        "the database URL holds a password; never write the password in the configuration: use db_env (an "
        "environment variable), db_secret (a Prefect Secret block) or PGPASSWORD/~/.pgpass"
    ),
    "{} anges med enkätens egna nycklar, inte under options": (
        "{} is given with the survey's own keys, not under options"
    ),
    "Enkäten {} har inga indata för {} (har: {}).": "The survey {} has no input for {} (has: {}).",
    "Katalogen {} innehåller ingen enkätkonfiguration (*.yaml).": (
        "The folder {} holds no survey configuration (*.yaml)."
    ),
    "Enkätkonfigurationen": "The survey configuration",
    "Enkätkonfigurationen {}": "The survey configuration {}",
    "Enkätkonfigurationen {} ska vara en YAML-mappning (eller surveys: en lista av mappningar).": (
        "The survey configuration {} should be a YAML mapping (or surveys: a list of mappings)."
    ),
    "Två enkäter heter {}; namnen måste vara unika.": "Two surveys are called {}; the names must be unique.",
    # --- a run: progress, notes, steps (runner.py, steps.py, stepwise.py, adjustment.py, commands.py) ------------
    "Ange både --responses och --population.": "Give both --responses and --population.",
    "läser och validerar": "reading and validating",
    "sparar i databasen": "saving to the database",
    "körning {} hade avbrutits och är markerad som misslyckad": "run {} had been aborted and is marked failed",
    "{} av {} rader i {} ligger i karantän; trygghet quarantine show visar dem": (
        "{} of {} rows of {} are quarantined; trygghet quarantine show lists them"
    ),
    "karantän, kolumn {}: 1 rad: {}": "quarantine, column {}: 1 row: {}",
    "--formats {} används inte: --no-publish skriver bara analysfilerna": (
        "--formats {} is not used: --no-publish writes only the analysis files"
    ),
    "karantän, kolumn {}: {} rader, t.ex. {}": "quarantine, column {}: {} rows, e.g. {}",
    "viktar": "weighting",
    "skattar andelar": "estimating shares",
    "skattar trender": "estimating trends",
    "databas: {}": "database: {}",
    "publicerar": "publishing",
    "design_weight måste vara ett tal > 0 för varje svarande (eller tomt för alla)": (
        "design_weight must be a number > 0 for every respondent (or empty for all)"
    ),
    "ingen befolkning för år {}, område {} i befolkningsfilen": (
        "no population for year {}, district {} in the population file"
    ),
    "design_weight saknas: designvikten är N_h / antal svarande_h": (
        "design_weight is missing: the design weight is N_h / number of respondents_h"
    ),
    "--aux {}: stegvisa körningar viktar befolkningen ur databasen, som inte sparar hjälpvariablernas totaler; kör "
    "trygghet run (eller flödet trygghet_run) med --aux": (
        "--aux {}: step-by-step runs weight with the population from the database, which does not keep the "
        "auxiliary variables' totals; run trygghet run (or the flow trygghet_run) with --aux"
    ),
    "Databasen har ingen inläst våg för år {}: läs in den med trygghet ingest först, eller välj bland de inlästa "
    "åren (trygghet sources list).": (
        "The database has no loaded wave for the year {}: load it with trygghet ingest first, or choose among the "
        "loaded years (trygghet sources list)."
    ),
    "Databasen har ingen inläst våg att vikta: läs in en med trygghet ingest först.": (
        "The database has no loaded wave to weight: load one with trygghet ingest first."
    ),
    "Körning {} har ingen sparad konfiguration (startad av en äldre version?).": (
        "Run {} has no stored configuration (started by an older version?)."
    ),
    "Körning {} har vikter men ingen sparad design; kör viktsteget igen.": (
        "Run {} has weights but no stored design; run the weighting step again."
    ),
    "Körning {} misslyckades; en misslyckad körnings resultat publiceras aldrig. Gör en ny körning.": (
        "Run {} failed; the results of a failed run are never published. Make a new run."
    ),
    "Körning {} har inga trender att publicera: kör trendsteget först (gjorda steg: {}).": (
        "Run {} has no trends to publish: run the trend step first (steps done: {})."
    ),
    "Körning {} har inga skattningar att publicera: kör skattningssteget först (gjorda steg: {}).": (
        "Run {} has no estimates to publish: run the estimation step first (steps done: {})."
    ),
    "området {} har ingen befolkning för {} i befolkningsfilen": (
        "the district {} has no population for {} in the population file"
    ),
    "svaranden resp_id {} år {} (svarsfilen rad {}) finns inte i bruttourvalet; bruttourvalet ska ha alla "
    "urvalspersoner": (
        "the respondent resp_id {} year {} (responses file row {}) is not in the gross sample; the gross sample "
        "should hold every sampled person"
    ),
    "resp_id {} år {} har svarat (svarsfilen rad {}) men har responded = 0 i bruttourvalet": (
        "resp_id {} year {} has responded (responses file row {}) but has responded = 0 in the gross sample"
    ),
    "{}: {} personer med responded = 1 finns inte bland de godkända svaren (t.ex. i karantän) och räknas som "
    "bortfall": (
        "{}: {} persons with responded = 1 are not among the accepted responses (e.g. quarantined) and count as "
        "nonrespondents"
    ),
    "bruttourvalet": "the gross sample",
    "bortfallsjustering ({}, område × kön × ålder per år) före kalibreringen: designvikterna × justeringsfaktor "
    "{}–{}": (
        "nonresponse adjustment ({}, district × sex × age per year) before the calibration: the design weights × "
        "adjustment factor {}–{}"
    ),
    "cellvis": "by cell",
    "svarsbenägenhet": "response propensity",
    "Roller klara i schemat {}: {} (ägare), {} (pipeline), {} (läsroll); {} SQL-satser.": (
        "Roles ready in the schema {}: {} (owner), {} (pipeline), {} (reader); {} SQL statements."
    ),
    "Roller klara i schemat {}: {} (ägare), {} (pipeline), {} (läsroll); {} SQL-satser. Medlemmar: {}.": (
        "Roles ready in the schema {}: {} (owner), {} (pipeline), {} (reader); {} SQL statements. Members: {}."
    ),
    "avbruten: processen {} avslutades innan körningen var klar": (
        "aborted: the process {} ended before the run was done"
    ),
    # --- compare, export, the report (reports/) ------------------------------------------------------------------
    "Okänt område ”{}”.{} Kända: {}.": "Unknown district ”{}”.{} Known: {}.",
    "Okänd indikator ”{}”.{} Kända: {}.": "Unknown indicator ”{}”.{} Known: {}.",
    "Skattningarna saknar kolumnerna {}.": "The estimates lack the columns {}.",
    "År {} finns inte i skattningarna; det finns {}.": "Year {} is not in the estimates; there are {}.",
    "Välj två olika områden att jämföra (båda är ”{}”).": "Choose two different districts to compare (both are ”{}”).",
    "Den publicerade tabellen {} {} saknar layoutuppgifter; den publicerades inte av trygghet.": (
        "The published table {} {} has no layout data; it was not published by trygghet."
    ),
    "Okänt format ”{}” för --format; välj ett av {}.": "Unknown format ”{}” for --format; choose one of {}.",
    "Ogiltigt år ”{}” för --years; skriv t.ex. --years 2024 2025, 2024,2025 eller 2023-2025.": (
        "Invalid year ”{}” for --years; write e.g. --years 2024 2025, 2024,2025 or 2023-2025."
    ),
    "Inga skattningar för {} och {} de valda åren.": "No estimates for {} and {} in the chosen years.",
    "{} har ingen estimates.csv; ange utkatalogen från trygghet run eller en databas-URL med --db.": (
        "{} has no estimates.csv; give the output folder of trygghet run or a database URL with --db."
    ),
    "Databasen har ingen körning med skattningar; kör trygghet run först.": (
        "The database has no run with estimates; run trygghet run first."
    ),
    "PNG och PDF kräver Chromium (apt-get install chromium), som inte finns på datorn; välj andra format med "
    "--formats, t.ex. html,xlsx,csv.": (
        "PNG and PDF need Chromium (apt-get install chromium), which is not installed; choose other formats with "
        "--formats, e.g. html,xlsx,csv."
    ),
    "Chromium kunde inte skriva {}: {}": "Chromium could not write {}: {}",
    "Skattningarna saknar kolumnerna {}; de behövs för rapporten.": (
        "The estimates lack the columns {}; the report needs them."
    ),
    "Det finns inga skattningar per område att publicera.": "There are no estimates by district to publish.",
    "Tabellen för gruppen ”{}” saknas: inga sådana indikatorer i skattningarna.": (
        "The table of the group ”{}” is missing: no such indicators in the estimates."
    ),
    "Tabellen efter kön och åldersgrupp saknas: skattningarna har inga sådana domäner (kolumnerna domain/group).": (
        "The table by sex and age group is missing: the estimates have no such domains (the columns domain/group)."
    ),
    "Trendtabellen saknas: ingen trendmodell i körningen.": "The trend table is missing: no trend model in the run.",
    "PNG och PDF av tabellerna saknas: Chromium finns inte på datorn.": (
        "PNG and PDF of the tables are missing: Chromium is not installed."
    ),
    "Okänt format för rapporten: {}; välj bland {}.": "Unknown format for the report: {}; choose among {}.",
    "Fay–Herriot: mellanområdesvariansen är 0; ingen modellskattning": (
        "Fay–Herriot: the between-area variance is 0; no model estimate"
    ),
    # --- the flows (flows/) --------------------------------------------------------------------------------------
    "Ange minst en enkätkonfiguration (parametern surveys).": (
        "Give at least one survey configuration (the parameter surveys)."
    ),
    "Miljövariabeln TRYGGHET_LOAD_WAIT_S ska vara ett antal sekunder, inte {}.": (
        "The environment variable TRYGGHET_LOAD_WAIT_S should be a number of seconds, not {}."
    ),
    "Prefect-körningen {}": "the Prefect run {}",
    "Prefect-körningen {} ({})": "the Prefect run {} ({})",
    "en annan körning": "another run",
    "{} laddar in en våg i samma databas; den här körningen har väntat i {} s ($TRYGGHET_LOAD_WAIT_S) på gränsen {} "
    "(Prefect, fliken Concurrency) och laddar inte samtidigt. Försök igen när den körningen är klar.": (
        "{} is loading a wave into the same database; this run has waited {} s ($TRYGGHET_LOAD_WAIT_S) on the "
        "limit {} (Prefect, the Concurrency tab) and does not load at the same time. Try again when that run is done."
    ),
    "Prefect Secret-blocket {} finns inte; skapa det i Prefect (Blocks → Secret) med databasens URL som värde.": (
        "The Prefect Secret block {} does not exist; create it in Prefect (Blocks → Secret) with the database URL as "
        "its value."
    ),
    "Miljövariabeln {} (databasens URL) är inte satt där flödet körs (arbetaren).": (
        "The environment variable {} (the database URL) is not set where the flow runs (the worker)."
    ),
    "Databas-URL:en i parametern db innehåller ett lösenord; en parameter sparas och visas i Prefect. Lägg URL:en i "
    "ett Secret-block (parametern db_secret) eller i $TRYGGHET_DATABASE_URL hos arbetaren.": (
        "The database URL in the parameter db holds a password; a parameter is stored and shown in Prefect. Put the "
        "URL in a Secret block (the parameter db_secret) or in $TRYGGHET_DATABASE_URL on the worker."
    ),
    "Miljövariabeln {} har värdet {}; tillåtna värden: dask, default.": (
        "The environment variable {} has the value {}; allowed values: dask, default."
    ),
    "Miljövariabeln {} ska vara ett heltal ≥ 1 (replikat per block), inte {}.": (
        "The environment variable {} should be an integer ≥ 1 (replicates per block), not {}."
    ),
    "Miljövariabeln {} ska vara ett heltal ≥ 1 (antal Dask-arbetare), inte {}.": (
        "The environment variable {} should be an integer ≥ 1 (number of Dask workers), not {}."
    ),
}
