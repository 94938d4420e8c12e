"""English messages of the statistics core (``survey/*.py``, ``survey/estimation``, ``survey/models``): calibration,
design, replication, models. Keys: the Swedish templates of the source (see :mod:`survey.pipeline.english`)."""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    # --- calibration (survey/calibration.py, calibration_model.py, calibration_solver.py) ----------------------
    "{}{}-kalibreringen konvergerade inte på {} iterationer ({} block): i {} missar marginalen {}, cellen {}, sin "
    "totalsumma {} med {} (relativt {}). Marginalernas totaler stämmer överens; prova {} eller {}": (
        "{}{} calibration did not converge in {} iterations ({} blocks): in {} the margin {}, cell {}, misses its "
        "total {} by {} (relative {}). The margins' totals agree; try {} or {}"
    ),
    "en annan metod (--method linear)": "another method (--method linear)",
    "en annan metod (--method raking)": "another method (--method raking)",
    "fler iterationer (--maxit, nu {})": "more iterations (--maxit, now {})",
    "slå ihop små celler (--collapse {})": "collapsing small cells (--collapse {})",
    "vidare gränser än [{}, {}] (--lower/--upper)": "wider bounds than [{}, {}] (--lower/--upper)",
    "trim=({}, {}) en gång: ett kalibreringsblock har alla vikter utanför gränserna, så det trimmade överskottet kan "
    "inte fördelas": (
        "trim=({}, {}) once: a calibration block has every weight outside the bounds, so the trimmed excess cannot "
        "be redistributed"
    ),
    "trimgränserna måste uppfylla 0 < lower < upper (--trim-lower/--trim-upper), fick {}": (
        "the trim bounds must satisfy 0 < lower < upper (--trim-lower/--trim-upper), got {}"
    ),
    "okänt trimningssätt {}; välj ett av {}": "unknown trim mode {}; choose one of {}",
    "maxit måste vara minst 1, fick {}": "maxit must be at least 1, got {}",
    "{} designvikter för {} rader": "{} design weights for {} rows",
    "designvikterna måste vara ändliga tal > 0": "the design weights must be finite numbers > 0",
    "trimning med logit-kalibrering: ange logit-gränserna (--lower/--upper) i stället för --trim-lower/--trim-upper": (
        "trimming with logit calibration: give the logit bounds (--lower/--upper) instead of --trim-lower/--trim-upper"
    ),
    "trimning till g i [{}, {}] med omkalibrering är omöjlig: {}; vidga trimgränserna (--trim-lower/--trim-upper) "
    "eller trimma en gång (--trim-mode once)": (
        "trimming to g in [{}, {}] with recalibration is impossible: {}; widen the trim bounds "
        "(--trim-lower/--trim-upper) or trim once (--trim-mode once)"
    ),
    "g trimmade en gång till [{}, {}] ({} vikter; marginalerna hålls inte längre, som med R:s calibrate(trim=))": (
        "g trimmed once to [{}, {}] ({} weights; the margins no longer hold, as with R's calibrate(trim=))"
    ),
    "g trimmade till [{}, {}] med omkalibrering ({} med gränser)": (
        "g trimmed to [{}, {}] with recalibration ({} with bounds)"
    ),
    "bortfallsjustering: cellen {} har urvalspersoner men inga svarande; slå ihop den med en angränsande cell": (
        "nonresponse adjustment: the cell {} has sampled persons but no respondents; merge it with a neighbouring cell"
    ),
    "trimgränserna måste uppfylla lower < upper, fick ({}, {})": (
        "the trim bounds must satisfy lower < upper, got ({}, {})"
    ),
    "kan inte trimma {} vikter med summan {} till [{}, {}]: summan måste ligga mellan {} × lower och {} × upper": (
        "cannot trim {} weights with the sum {} to [{}, {}]: the sum must lie between {} × lower and {} × upper"
    ),
    "trimningen av {} vikter med summan {} till [{}, {}] konvergerade inte på {} varv; vidga gränserna": (
        "trimming {} weights with the sum {} to [{}, {}] did not converge in {} rounds; widen the bounds"
    ),
    "kalibreringen behöver minst en marginal": "the calibration needs at least one margin",
    "marginalen {}: svaren har ingen kolumn {}": "margin {}: the responses have no column {}",
    "marginalen {}: totalerna har ingen kolumn {}": "margin {}: the totals have no column {}",
    "hjälpvariabeln {} saknas eller är inte ett tal för {} svarande (första: rad {}); numeriska hjälpvariabler "
    "behöver ett värde för varje svarande": (
        "the auxiliary variable {} is missing or not a number for {} respondents (first: row {}); numeric auxiliary "
        "variables need a value for every respondent"
    ),
    "marginalen {}: totaler för {} {} utan svarande används inte": (
        "margin {}: totals for {} {} without respondents are not used"
    ),
    "marginalen {}: totalerna måste vara ändliga tal": "margin {}: the totals must be finite numbers",
    "marginalen {}: totalerna måste vara ändliga tal ≥ 0": "margin {}: the totals must be finite numbers ≥ 0",
    "{}: {} {} slogs ihop med {} ({} svarande < {})": "{}: {} {} was merged with {} ({} respondents < {})",
    "--collapse: {} är inte en variabel i någon marginal inom {} (marginaler: {})": (
        "--collapse: {} is not a variable of any margin within {} (margins: {})"
    ),
    "populationen": "the population",
    "populationstotal saknas för {}, som har {} svarande; lägg till cellen i populationsfilen": (
        "no population total for {}, which has {} respondents; add the cell to the population file"
    ),
    "{}kalibreringen är omöjlig: {} har populationen {} men inga svarande ({} sådana celler); slå ihop den med en "
    "angränsande kategori (trygghet run --collapse {}) eller ta bort marginalen": (
        "{}the calibration is impossible: {} has the population {} but no respondents ({} such cells); merge it "
        "with a neighbouring category (trygghet run --collapse {}) or remove the margin"
    ),
    "{}kalibreringen är omöjlig: {} har populationstotalen {} men ingen svarande med ett värde skilt från 0; ta bort "
    "hjälpvariabeln eller slå ihop områden": (
        "{}the calibration is impossible: {} has the population total {} but no respondent with a value other than "
        "0; remove the auxiliary variable or merge districts"
    ),
    "{} har {} svarande men populationen 0; rätta populationsfilen eller slå ihop cellen med en angränsande "
    "kategori (--collapse)": (
        "{} has {} respondents but the population 0; correct the population file or merge the cell with a "
        "neighbouring category (--collapse)"
    ),
    "marginalerna är inkonsistenta i {}: {} summerar till {} men {} till {}; båda ska vara blockets befolkning. "
    "Rätta populationsfilen (ingen kalibrering kan uppfylla båda)": (
        "the margins are inconsistent in {}: {} sums to {} but {} to {}; both should be the block's population. "
        "Correct the population file (no calibration can satisfy both)"
    ),
    "gränserna [{}, {}] för g-vikterna kan inte uppfyllas: {} behöver i genomsnitt g = {} (population {}, vägd "
    "urvalssumma {}); vidga gränserna (--lower/--upper), slå ihop cellen (--collapse) eller använd raking utan "
    "gränser": (
        "the bounds [{}, {}] for the g-weights cannot be met: {} needs g = {} on average (population {}, weighted "
        "sample sum {}); widen the bounds (--lower/--upper), merge the cell (--collapse) or use raking without bounds"
    ),
    "populationsfilen har ingen kolumn {} med totaler för hjälpvariabeln": (
        "the population file has no column {} with totals for the auxiliary variable"
    ),
    "okänd kalibreringsmetod {} (--method); välj en av {}": (
        "unknown calibration method {} (--method); choose one of {}"
    ),
    "gränserna måste uppfylla lower < upper (--lower/--upper), fick {}": (
        "the bounds must satisfy lower < upper (--lower/--upper), got {}"
    ),
    "logit-kalibrering kräver ändliga gränser lower < 1 < upper (--lower/--upper)": (
        "logit calibration needs finite bounds lower < 1 < upper (--lower/--upper)"
    ),
    "logit-kalibrering kräver lower < 1 < upper (--lower/--upper), fick {}": (
        "logit calibration needs lower < 1 < upper (--lower/--upper), got {}"
    ),
    "kalibreringens Newton-steg kunde inte beräknas ({})": "the calibration's Newton step could not be computed ({})",
    # --- the design (survey/design.py, survey/estimation) -------------------------------------------------------
    "{} har {} värden för {} rader": "{} has {} values for {} rows",
    "designvikterna måste vara ändliga och större än 0": "the design weights must be finite and greater than 0",
    "okänd regel för ensamma PSU:er (lonely-PSU policy) {}; välj en av {}": (
        "unknown rule for lonely PSUs (lonely-PSU policy) {}; choose one of {}"
    ),
    "{} behöver designens kalibreringsmodell, men vikterna är inte kalibrerade (Design.calibration är None); "
    "kalibrera vikterna först eller använd den okalibrerade skattningen": (
        "{} needs the design's calibration model, but the weights are not calibrated (Design.calibration is None); "
        "calibrate the weights first or use the uncalibrated estimate"
    ),
    "en PSU hör till mer än ett stratum; PSU-id:n måste vara nästlade i strata": (
        "a PSU belongs to more than one stratum; PSU ids must be nested in strata"
    ),
    "stratum {}: fler urvalda PSU:er än populationens storlek (fpc)": (
        "stratum {}: more sampled PSUs than the population size (fpc)"
    ),
    "stratum {} har en enda PSU (single PSU); dess varians kan inte skattas (lonely-PSU policy 'fail'; välj "
    "'certainty', 'remove', 'adjust' eller 'average')": (
        "stratum {} has a single PSU; its variance cannot be estimated (lonely-PSU policy 'fail'; choose "
        "'certainty', 'remove', 'adjust' or 'average')"
    ),
    "saknade värden i grupperingskolumnen/-kolumnerna {}": "missing values in the grouping column(s) {}",
    "atomvägen kräver elementurval (inga PSU:er); använd domain_ratios": (
        "the atom path needs element sampling (no PSUs); use domain_ratios"
    ),
    "atomvägens kalibreringsanpassning": "the atom path's calibration adjustment",
    "okänd justering {}; välj en av {}": "unknown adjustment {}; choose one of {}",
    "en {} spänner över flera domäner: ange domänvariabeln som varierar inom {} som mask (t.ex. kön) och den "
    "sammanfallande delen (t.ex. år × område) som domän": (
        "a {} spans several domains: give the domain variable that varies within the {} as a mask (e.g. sex) and "
        "the coinciding part (e.g. year × district) as the domain"
    ),
    "kalibreringsblock": "calibration block",
    "atomerna byggdes utan gruppkoderna: använd atom_stats(..., extra=group_codes(...)[0])": (
        "the atoms were built without the group codes: use atom_stats(..., extra=group_codes(...)[0])"
    ),
    "GREG-justeringen av variansen": "the GREG adjustment of the variance",
    # --- models (survey/models) ---------------------------------------------------------------------------------
    "termen {} finns inte i modellen (termer: {})": "the term {} is not in the model (terms: {})",
    "okänd familj {}; välj en av {}": "unknown family {}; choose one of {}",
    "svyglm_atoms kräver elementurval (inga PSU:er); använd svyglm": (
        "svyglm_atoms needs element sampling (no PSUs); use svyglm"
    ),
    "model matrix of shape {} for {} terms": "model matrix of shape {} for {} terms",
    "modellens domän har inga svarande": "the model's domain has no respondents",
    "modellmatrisen har inte full rang på domänen (termer: {}); en nivå utan svarande eller en konstant kovariat?": (
        "the model matrix does not have full rank on the domain (terms: {}); a level without respondents or a "
        "constant covariate?"
    ),
    "y har {} värden för en design med {} rader": "y has {} values for a design with {} rows",
    "domänen har {} värden för en design med {} rader": "the domain has {} values for a design with {} rows",
    "svaret saknas (NaN) för några svarande i domänen": (
        "the response is missing (NaN) for some respondents in the domain"
    ),
    "quasibinomial kräver ett svar i [0, 1]": "quasibinomial needs a response in [0, 1]",
    "modellmatrisen har {} rader för en design med {} rader (ange cell=)": (
        "the model matrix has {} rows for a design with {} rows (give cell=)"
    ),
    "cell har {} koder för en design med {} rader": "cell has {} codes for a design with {} rows",
    "domänradernas cellkoder måste peka på rader i x": "the domain rows' cell codes must point to rows of x",
    "ingen koefficient matchar {} (termer: {})": "no coefficient matches {} (terms: {})",
    "Fay–Herriot needs more areas ({}) than covariates ({})": "Fay–Herriot needs more areas ({}) than covariates ({})",
    "Fay–Herriot needs finite direct estimates and sampling variances > 0": (
        "Fay–Herriot needs finite direct estimates and sampling variances > 0"
    ),
    "okänd Fay–Herriot-metod {}; välj 'REML' eller 'PR'": "unknown Fay–Herriot method {}; choose 'REML' or 'PR'",
    "small_area_shares needs columns {}": "small_area_shares needs columns {}",
    "okänd skala {}; välj 'logit' eller 'arcsine'": "unknown scale {}; choose 'logit' or 'arcsine'",
    "data har {} rader för en design med {} rader (samma rader i samma ordning)": (
        "the data have {} rows for a design with {} rows (the same rows in the same order)"
    ),
    "data saknar kolumnen {}": "the data lack the column {}",
    "indikator {}: data saknar kolumnen {}": "indicator {}: the data lack the column {}",
    "serieavbrott {} ({}): ingen trend över avbrottet; skattad på {} och senare": (
        "series break {} ({}): no trend across the break; estimated on {} and later"
    ),
    "inga svarande i domänen: ingen modell": "no respondents in the domain: no model",
    "bara ett år ({}) i domänen: ingen årstrend": "only one year ({}) in the domain: no yearly trend",
    "den logistiska skattningen konvergerade inte (separation: en andel 0 eller 1?)": (
        "the logistic fit did not converge (separation: a share of 0 or 1?)"
    ),
    "{}: trendmodellen gick inte att skatta ({})": "{}: the trend model could not be fitted ({})",
    "{}: needs a fit with interaction=True and at least two years": (
        "{}: needs a fit with interaction=True and at least two years"
    ),
    "alla svar i modellens domän är 0 (eller alla 1) där modellen kan skilja dem åt (fullständig separation): "
    "ingen koefficient kan skattas": (
        "every response in the model's domain is 0 (or every one 1) where the model can tell them apart (complete "
        "separation): no coefficient can be estimated"
    ),
    "informationsmatrisen för modellen är singulär (skattade andelar numeriskt 0 eller 1): koefficienterna kan "
    "inte skattas": (
        "the model's information matrix is singular (estimated shares numerically 0 or 1): the coefficients cannot "
        "be estimated"
    ),
    "Wald-testet kan inte göras: termerna {} kan inte skattas (separation)": (
        "the Wald test cannot be done: the terms {} cannot be estimated (separation)"
    ),
    "Wald-testet kan inte göras: kovariansmatrisen för {} är singulär": (
        "the Wald test cannot be done: the covariance matrix of {} is singular"
    ),
    "de skattbara termerna är linjärt beroende på cellerna utan separation": (
        "the estimable terms are linearly dependent on the cells without separation"
    ),
    "separationskontrollen av den logistiska modellen misslyckades ({})": (
        "the separation check of the logistic model failed ({})"
    ),
    "trendmodellen kunde inte skattas: {}": "the trend model could not be fitted: {}",
    "referensområde {} (det första området, {}, {})": "reference district {} (the first district, {}, {})",
    "kan inte skattas": "cannot be estimated",
    "saknar svar på frågan": "has no answers to the question",
    "{}: ingen områdestrend utöver referensområdets kan skattas": (
        "{}: no district trend beyond the reference district's can be estimated"
    ),
    "{} (separation: den logistiska modellens koefficient går mot oändligheten)": (
        "{} (separation: the logistic model's coefficient tends to infinity)"
    ),
    "alla år": "all years",
    "den logistiska modellen har separation (andelar 0 eller 1 i andra områden eller år)": (
        "the logistic model has separation (shares of 0 or 1 in other districts or years)"
    ),
    "svar bara {}: ingen årstrend för området": "responses only in {}: no yearly trend for the district",
    "trenden för {} kunde inte skattas: {}": "the trend for {} could not be estimated: {}",
    "nivån för {} kunde inte skattas: {}": "the level for {} could not be estimated: {}",
    "andelen är {} {}": "the share is {} in {}",
    "separation i den logistiska modellen": "separation in the logistic model",
    "{} och {}": "{} and {}",
    # --- nonresponse, pooling (survey/nonresponse.py, pooling.py) -----------------------------------------------
    "bruttourvalet har ingen kolumn {} (1 = svarade, 0 = svarade inte)": (
        "the gross sample has no column {} (1 = responded, 0 = did not respond)"
    ),
    "kolumnen {} måste vara 0 eller 1 för alla i bruttourvalet (rad {})": (
        "the column {} must be 0 or 1 for everyone in the gross sample (row {})"
    ),
    "kolumnen {} måste vara ett tal > 0 för alla i bruttourvalet": (
        "the column {} must be a number > 0 for everyone in the gross sample"
    ),
    "bortfallsjustering: cellen {} har {} i urvalet men inga svarande; slå ihop den med en angränsande cell": (
        "nonresponse adjustment: the cell {} has {} in the sample but no respondents; merge it with a neighbouring cell"
    ),
    "pool måste vara minst 1, fick {}": "pool must be at least 1, got {}",
    "pool={} kräver minst {} undersökningsår, data har {} ({})": (
        "pool={} needs at least {} survey years, the data have {} ({})"
    ),
    # --- replication (survey/replicat*.py, replication.py) ------------------------------------------------------
    "täljare {} och nämnare {} för en replikatdesign med {} rader": (
        "numerator {} and denominator {} for a replicate design with {} rows"
    ),
    "okänd replikatmetod {}; välj en av {}": "unknown replicate method {}; choose one of {}",
    "replikatblocket saknar både atomer och indikatormatriser": (
        "the replicate block has neither atoms nor indicator matrices"
    ),
    "okänd replikatväg {}; välj auto, atoms eller rows": "unknown replicate path {}; choose auto, atoms or rows",
    "atomvägen för replikat gäller bara bootstrap med andelar (heltal 0..255 i täljare och nämnare)": (
        "the replicate atom path applies only to bootstrap with shares (integers 0..255 in numerator and denominator)"
    ),
    "{} id-rader för en replikatdesign med {} rader": "{} id rows for a replicate design with {} rows",
    "replikatvikterna ({}) saknar fältet {}, som de behöver; bygg dem med jackknife_replicates, bootstrap_replicates "
    "eller recalibrate": (
        "the replicate weights ({}) lack the field {}, which they need; build them with jackknife_replicates, "
        "bootstrap_replicates or recalibrate"
    ),
    "bootstrapdragningarna saknar PSU:ernas ordning (ett schema för atomvägens block)": (
        "the bootstrap draws lack the order of the PSUs (a schedule for the atom path's blocks)"
    ),
    "fel buffert för bootstrapdragningarna: {}, behöver {}": "wrong buffer for the bootstrap draws: {}, needs {}",
    "en PSU drogs mer än 255 gånger i bootstrapreplikat {}": (
        "a PSU was drawn more than 255 times in bootstrap replicate {}"
    ),
    "dess varians kan inte skattas (lonely-PSU policy 'fail'; välj 'certainty', 'remove' eller 'average')": (
        "its variance cannot be estimated (lonely-PSU policy 'fail'; choose 'certainty', 'remove' or 'average')"
    ),
    "regeln 'adjust' för ensamma PSU:er (lonely-PSU policy 'adjust') finns inte för {}-replikat (använd "
    "'certainty', 'remove', 'average' eller linjärisering)": (
        "the rule 'adjust' for lonely PSUs (lonely-PSU policy 'adjust') does not exist for {} replicates (use "
        "'certainty', 'remove', 'average' or linearisation)"
    ),
    "stratum {} har en enda PSU (single PSU); {}": "stratum {} has a single PSU; {}",
    "inga jackknife-replikat: varje stratum är en totalundersökning eller har en enda PSU": (
        "no jackknife replicates: every stratum is a census or has a single PSU"
    ),
    "bootstrap behöver minst 2 replikat, fick {}": "bootstrap needs at least 2 replicates, got {}",
    "okänd bootstrapmetod {}; välj 'rao_wu' eller 'canty_davison'": (
        "unknown bootstrap method {}; choose 'rao_wu' or 'canty_davison'"
    ),
    "bootstrapmetoden canty_davison finns bara utan fpc; använd method='rao_wu'": (
        "the bootstrap method canty_davison exists only without fpc; use method='rao_wu'"
    ),
    "hela urvalet": "the full sample",
    "replikat {}: kalibreringen går inte att lösa: {} har populationen {} men ingen svarande med positiv vikt; slå "
    "ihop kategorin eller använd infeasible='collapse'": (
        "replicate {}: the calibration cannot be solved: {} has the population {} but no respondent with a positive "
        "weight; merge the category or use infeasible='collapse'"
    ),
    "replikat {}": "replicate {}",
    "en kalibreringsmodell med {} rader för en replikatdesign med {} rader": (
        "a calibration model with {} rows for a replicate design with {} rows"
    ),
    "{} datarader för en replikatdesign med {} rader": "{} data rows for a replicate design with {} rows",
    "{} rader med värden för en replikatdesign med {} rader": "{} rows of values for a replicate design with {} rows",
}
