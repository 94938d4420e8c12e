#!/usr/bin/env Rscript
# api_checks.R -- live R `survey` references on the api data for tests/test_calibration.py,
# tests/test_variance.py and tests/test_estimation.py.
#
#   Rscript api_checks.R API_DIR OUT.json
#
# API_DIR holds apiclus1.csv, apistrat.csv, apipop.csv (shared/data/api). Every entry of OUT.json
# records the R call that produced it (field "r"). Numbers are written with 17 significant digits.
suppressPackageStartupMessages(library(survey))
library(jsonlite)
options(survey.lonely.psu = "fail", warn = 1)
args <- commandArgs(trailingOnly = TRUE)
api <- args[1]; out <- args[2]
apiclus1 <- read.csv(file.path(api, "apiclus1.csv"), stringsAsFactors = TRUE)
apistrat <- read.csv(file.path(api, "apistrat.csv"), stringsAsFactors = TRUE)
apipop <- read.csv(file.path(api, "apipop.csv"), stringsAsFactors = TRUE)

dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
res <- list()
stat <- function(des) {
  m <- svymean(~api00, des); t <- svytotal(~enroll, des)
  list(weights = unname(weights(des)),
       mean_api00 = unname(coef(m)), se_mean_api00 = as.numeric(SE(m)),
       total_enroll = unname(coef(t)), se_total_enroll = as.numeric(SE(t)))
}
# calibration population: intercept, stype H, stype M, sch.wide Yes
pop <- c(`(Intercept)` = nrow(apipop), stypeH = sum(apipop$stype == "H"),
         stypeM = sum(apipop$stype == "M"), sch.wideYes = sum(apipop$sch.wide == "Yes"))
res$population <- as.list(pop)
cal_call <- function(calfun, bounds = NULL) {
  if (is.null(bounds))
    calibrate(dclus1, ~stype + sch.wide, pop, calfun = calfun, maxit = 200, epsilon = 1e-13)
  else
    calibrate(dclus1, ~stype + sch.wide, pop, calfun = calfun, bounds = bounds, maxit = 200, epsilon = 1e-13)
}
res$linear <- c(r = "calibrate(dclus1, ~stype + sch.wide, pop, calfun = 'linear')", stat(cal_call("linear")))
res$linear_bounded <- c(r = "calibrate(dclus1, ~stype + sch.wide, pop, calfun = 'linear', bounds = c(0.9, 1.9))",
                        stat(cal_call("linear", c(0.9, 1.9))))
res$logit <- c(r = "calibrate(dclus1, ~stype + sch.wide, pop, calfun = 'logit', bounds = c(0.5, 2.5))",
               stat(cal_call("logit", c(0.5, 2.5))))
res$logit_tight <- c(r = "calibrate(dclus1, ~stype + sch.wide, pop, calfun = 'logit', bounds = c(0.85, 2.0))",
                     stat(cal_call("logit", c(0.85, 2.0))))
res$raking <- c(r = "calibrate(dclus1, ~stype + sch.wide, pop, calfun = 'raking')", stat(cal_call("raking")))
res$raking_bounded <- c(r = "calibrate(dclus1, ~stype + sch.wide, pop, calfun = 'raking', bounds = c(0.9, 1.9))",
                        stat(cal_call("raking", c(0.9, 1.9))))
pop.types <- as.data.frame(table(stype = apipop$stype))
res$post_clus1 <- c(r = "postStratify(dclus1, ~stype, pop.types)", stat(postStratify(dclus1, ~stype, pop.types)))
pop.sw <- as.data.frame(table(sch.wide = apipop$sch.wide))
res$post_strat_schwide <- c(r = "postStratify(dstrat, ~sch.wide, pop.sw)  # d varies within the post-strata",
                            stat(postStratify(dstrat, ~sch.wide, pop.sw)))
res$cal_strat_schwide <- c(r = "calibrate(dstrat, ~sch.wide, c(6194, 5122), calfun = 'linear')",
                           stat(calibrate(dstrat, ~sch.wide, c(`(Intercept)` = 6194, sch.wideYes = 5122))))

# trimWeights(strict = TRUE)
rclus1_tight <- rake(dclus1, list(~stype, ~sch.wide), list(pop.types, pop.sw),
                     control = list(maxit = 100, epsilon = 1e-12))
res$rclus1_tight_weights <- unname(weights(rclus1_tight))
# (lower = 32, upper = 55 overflows R's C stack: strict = TRUE recurses without end)
res$trim_rclus1 <- list(r = "trimWeights(rclus1_tight, lower = 31, upper = 60, strict = TRUE)",
                        weights = unname(weights(trimWeights(rclus1_tight, lower = 31, upper = 60, strict = TRUE))))
res$trim_rclus1_b <- list(r = "trimWeights(rclus1_tight, lower = 30, upper = 50, strict = TRUE)",
                          weights = unname(weights(trimWeights(rclus1_tight, lower = 30, upper = 50, strict = TRUE))))
res$trim_dstrat <- list(r = "trimWeights(dstrat, lower = 18, upper = 40, strict = TRUE)",
                        weights = unname(weights(trimWeights(dstrat, lower = 18, upper = 40, strict = TRUE))))

# lonely PSU: apistrat with a single high school (the first H row)
keep <- apistrat$stype != "H" | seq_len(nrow(apistrat)) == which(apistrat$stype == "H")[1]
lonely <- apistrat[keep, ]
res$lonely_rows <- which(keep) - 1L                 # 0-based rows of apistrat kept
for (pol in c("certainty", "adjust")) {
  options(survey.lonely.psu = pol)
  for (fp in c(FALSE, TRUE)) {
    des <- if (fp) svydesign(id = ~1, strata = ~stype, weights = ~pw, data = lonely, fpc = ~fpc)
           else svydesign(id = ~1, strata = ~stype, weights = ~pw, data = lonely)
    m <- svymean(~api00, des); t <- svytotal(~enroll, des)
    res[[paste0("lonely_", pol, if (fp) "_fpc" else "")]] <- list(
      r = sprintf("options(survey.lonely.psu = '%s'); svymean(~api00, svydesign(id = ~1, strata = ~stype, weights = ~pw, data = lonely%s))",
                  pol, if (fp) ", fpc = ~fpc" else ""),
      mean = unname(coef(m)), se_mean = as.numeric(SE(m)), se_total = as.numeric(SE(t)))
  }
}
options(survey.lonely.psu = "fail")

# deff on apistrat (with fpc)
for (v in c("api00", "yes")) {
  apistrat$yes <- as.numeric(apistrat$sch.wide == "Yes")
  dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
  f <- as.formula(paste0("~", v))
  m1 <- svymean(f, dstrat, deff = TRUE); m2 <- svymean(f, dstrat, deff = "replace")
  res[[paste0("deff_", v)]] <- list(r = sprintf("svymean(~%s, dstrat, deff = TRUE / 'replace')", v),
                                    estimate = unname(coef(m1)), se = as.numeric(SE(m1)),
                                    deff_true = unname(deff(m1)), deff_replace = unname(deff(m2)))
}
# Korn-Graubard (beta) and logit CIs, whole sample and a domain (subset of a non-calibrated
# design drops rows, so nrow(design) there is the domain size)
kg <- function(des, r) {
  b <- svyciprop(~yes, des, method = "beta"); l <- svyciprop(~yes, des, method = "logit")
  list(r = r, estimate = as.numeric(b), se = as.numeric(SE(b)), beta = unname(confint(b)[1, ]),
       logit = unname(confint(l)[1, ]), df = degf(des), nrow = nrow(des))
}
res$kg_all <- kg(dstrat, "svyciprop(~yes, dstrat, method = 'beta')")
res$kg_M <- kg(subset(dstrat, stype == "M"), "svyciprop(~yes, subset(dstrat, stype == 'M'), method = 'beta')")
writeLines(toJSON(res, digits = NA, auto_unbox = TRUE), out)
