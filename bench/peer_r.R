#!/usr/bin/env Rscript
# peer_r.R -- the R `survey` peer of trygghet's benchmark (bench/run.py).
#
#   Rscript bench/peer_r.R RESPONSES.csv POPULATION.csv OUT.json
#
# Same method as shared/conformance/reference.R (the contract's oracle), for ONE indicator:
#   design     svydesign(ids = ~1, strata = ~stratum, weights = ~design_weight), stratum = year x district
#   weight     calibrate(raking) to district x sex and district x age_group within year, through the
#              equivalent full-rank matrix 1, kvinna, age_25_34 ... age_75_84 per stratum (sparse = TRUE)
#   estimate   unsafe_after_dark (q_safe_after_dark in 3, 4, 5; blank answers outside the base):
#              svyby(~y, ~stratum, subset(calibrated, answered), svymean) -> share and the
#              calibration-aware linearisation SE (GREG residuals), per year x district
#   model      svyglm(y ~ year + district, quasibinomial, subset(calibrated, answered)), district
#              reference = first in code-point order
# Writes the numbers and the wall seconds of each step as JSON (jsonlite).
suppressPackageStartupMessages({ library(survey); library(jsonlite) })
options(survey.lonely.psu = "fail", warn = 1)
args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 3) stop("usage: Rscript peer_r.R RESPONSES.csv POPULATION.csv OUT.json")
if (!isTRUE(l10n_info()[["UTF-8"]])) invisible(Sys.setlocale("LC_CTYPE", "C.UTF-8"))
steps <- list()
tic <- function() proc.time()[["elapsed"]]

AGE <- c("16-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75-84")
AGE_COLS <- paste0("age_", sub("-", "_", AGE[-1]))

t0 <- tic()
cls <- c(resp_id = "character", district = "character", age_group = "character", comment = "character")
d <- read.csv(args[1], colClasses = cls, encoding = "UTF-8", check.names = FALSE)
pop <- read.csv(args[2], colClasses = c(district = "character", age_group = "character"), encoding = "UTF-8")
steps$read <- tic() - t0

t0 <- tic()
d$yd <- paste(d$year, d$district, sep = " | ")
pop$yd <- paste(pop$year, pop$district, sep = " | ")
strata_levels <- sort(unique(d$yd), method = "radix")
pop <- pop[pop$yd %in% strata_levels, ]
d$stratum <- factor(d$yd, levels = strata_levels)
pop$stratum <- factor(pop$yd, levels = strata_levels)
d$kvinna <- as.numeric(d$sex == 2)
pop$kvinna <- as.numeric(pop$sex == 2)
for (j in seq_along(AGE_COLS)) {
  d[[AGE_COLS[j]]] <- as.numeric(d$age_group == AGE[j + 1])
  pop[[AGE_COLS[j]]] <- as.numeric(pop$age_group == AGE[j + 1])
}
cal_formula <- as.formula(paste("~ 0 + stratum + stratum:kvinna +", paste0("stratum:", AGE_COLS, collapse = " + ")))
totals <- colSums(model.matrix(cal_formula, pop) * pop$population)
d$y <- as.numeric(!is.na(d$q_safe_after_dark) & d$q_safe_after_dark %in% c(3, 4, 5))
d$answered <- !is.na(d$q_safe_after_dark)
districts <- sort(unique(d$district), method = "radix")
d$district <- factor(d$district, levels = districts)
d$year_num <- as.numeric(d$year)
keep <- c("year", "year_num", "district", "stratum", "design_weight", "kvinna", AGE_COLS, "y", "answered")
des <- svydesign(ids = ~1, strata = ~stratum, weights = ~design_weight, data = d[, keep])
cal <- calibrate(des, cal_formula, population = totals, calfun = "raking", maxit = 100, epsilon = 1e-12,
                 sparse = TRUE)
steps$weight <- tic() - t0

t0 <- tic()
sub <- subset(cal, answered)
est <- svyby(~y, ~stratum, sub, svymean, keep.var = TRUE)
steps$estimate <- tic() - t0
parts <- do.call(rbind, strsplit(as.character(est$stratum), " | ", fixed = TRUE))
estimates <- data.frame(year = as.integer(parts[, 1]), district = parts[, 2], estimate = est$y,
                        se = SE(est), stringsAsFactors = FALSE)

t0 <- tic()
m <- suppressWarnings(svyglm(y ~ year_num + district, design = sub, family = quasibinomial(),
                             control = glm.control(epsilon = 1e-10, maxit = 50)))
steps$model <- tic() - t0
term <- names(coef(m))
term[term == "year_num"] <- "year"
isd <- startsWith(term, "district")
term[isd] <- paste0("district[", substring(term[isd], nchar("district") + 1), "]")
model <- data.frame(term = term, estimate = unname(coef(m)), se = unname(sqrt(diag(vcov(m)))))

out <- list(tool = "R survey", version = as.character(packageVersion("survey")),
            se_method = "Taylor linearisation with calibration (GREG) residuals, stratified, with replacement",
            model_method = "svyglm quasibinomial, sandwich through the calibration",
            steps = steps, estimates = estimates, model = model, notes = list())
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, dataframe = "rows"), args[3])
