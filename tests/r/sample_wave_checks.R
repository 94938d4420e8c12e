#!/usr/bin/env Rscript
# sample_wave_checks.R -- live R survey references on the shared sample wave for tests/test_estimation.py
#
#   Rscript sample_wave_checks.R RESPONSES.csv POPULATION.csv OUT.json
#
# Builds the contract's calibrated design exactly as shared/conformance/reference.R does (stratified by
# year x district, raking to district x sex and district x age_group, full-rank model matrix), then for
# the indicators below and every year:
#   by_sex:   svyby(~y, ~sex, subset(cal, year == Y & answered), svymean)
#   vs_totalt: svycontrast(svytotal(~yd + bd + yT + bT, subset(cal, year == Y)), quote(yd/bd - yT/bT))
#              (district share minus Totalt share, delta method on the joint totals)
#   beta:     svyciprop(~y, subset(cal, year == Y & district == k & answered), method = "beta")
#   deff:     svymean(~y, same subset, deff = "replace") and deff = TRUE
#   index:    svymean(~score, subset(cal, year == Y & district == k & scored)), score = mean problem score
suppressPackageStartupMessages(library(survey))
library(jsonlite)
options(survey.lonely.psu = "fail", warn = 1)
a <- commandArgs(trailingOnly = TRUE)
d <- read.csv(a[1], colClasses = c(resp_id = "character"), na.strings = "", encoding = "UTF-8")
pop <- read.csv(a[2], encoding = "UTF-8")
AGE <- c("16-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75-84")
AGE_COLS <- paste0("age_", sub("-", "_", AGE[-1]))
d$yd <- paste(d$year, d$district, sep = " | "); pop$yd <- paste(pop$year, pop$district, sep = " | ")
lev <- sort(unique(d$yd), method = "radix")
d$stratum <- factor(d$yd, levels = lev); pop$stratum <- factor(pop$yd, levels = lev)
for (x in list(d, pop)) NULL
d$kvinna <- as.numeric(d$sex == 2); pop$kvinna <- as.numeric(pop$sex == 2)
for (j in seq_along(AGE_COLS)) {
  d[[AGE_COLS[j]]] <- as.numeric(d$age_group == AGE[j + 1]); pop[[AGE_COLS[j]]] <- as.numeric(pop$age_group == AGE[j + 1])
}
f <- as.formula(paste("~ 0 + stratum + stratum:kvinna +", paste0("stratum:", AGE_COLS, collapse = " + ")))
totals <- colSums(model.matrix(f, pop) * pop$population)
IND <- list(unsafe_after_dark = list("q_safe_after_dark", c(3, 4, 5)),
            victim_theft = list("q_victim_theft", 1), police_care = list("q_police_care", c(1, 2)))
for (nm in names(IND)) d[[nm]] <- as.numeric(!is.na(d[[IND[[nm]][[1]]]]) & d[[IND[[nm]][[1]]]] %in% IND[[nm]][[2]])
PROB <- grep("^q_problem_", names(d), value = TRUE)
sc <- sapply(PROB, function(q) ifelse(d[[q]] %in% 1:4, 4 - d[[q]], NA))   # 1 -> 3, ..., 4 -> 0; 9, blank -> NA
d$n_scored <- rowSums(!is.na(sc)); d$score <- ifelse(d$n_scored > 0, rowSums(sc, na.rm = TRUE) / pmax(d$n_scored, 1), 0)
des <- svydesign(ids = ~1, strata = ~stratum, weights = ~design_weight, data = d)
cal <- calibrate(des, f, population = totals, calfun = "raking", maxit = 100, epsilon = 1e-12, sparse = TRUE)
res <- list(by_sex = list(), vs_totalt = list(), beta = list(), index = list())
for (Y in sort(unique(d$year))) {
  dists <- sort(unique(d$district[d$year == Y]), method = "radix")
  for (nm in names(IND)) {
    ans <- !is.na(d[[IND[[nm]][[1]]]])
    b <- svyby(as.formula(paste0("~", nm)), ~sex, cal[d$year == Y & ans, ], svymean)
    res$by_sex[[length(res$by_sex) + 1]] <- list(year = Y, indicator = nm, sex = b$sex,
                                                  estimate = unname(coef(b)), se = unname(SE(b)))
    vars <- c()
    dd <- d
    for (k in seq_along(dists)) {
      dd[[paste0("yd", k)]] <- d[[nm]] * ans * (d$district == dists[k])
      dd[[paste0("bd", k)]] <- ans * (d$district == dists[k])
    }
    dd$yT <- d[[nm]] * ans; dd$bT <- as.numeric(ans)
    cal2 <- cal; cal2$variables <- dd
    tot <- svytotal(as.formula(paste("~", paste(c(paste0("yd", seq_along(dists)), paste0("bd", seq_along(dists)), "yT", "bT"), collapse = "+"))),
                    cal2[d$year == Y, ])
    exprs <- lapply(seq_along(dists), function(k) parse(text = sprintf("yd%d/bd%d - yT/bT", k, k))[[1]])
    names(exprs) <- dists
    con <- svycontrast(tot, exprs)
    res$vs_totalt[[length(res$vs_totalt) + 1]] <- list(year = Y, indicator = nm, district = dists,
                                                       difference = unname(coef(con)), se = unname(SE(con)))
    for (k in dists) {
      sub <- cal[d$year == Y & d$district == k & ans, ]
      ci <- svyciprop(as.formula(paste0("~", nm)), sub, method = "beta")
      m1 <- svymean(as.formula(paste0("~", nm)), sub, deff = TRUE)
      m2 <- svymean(as.formula(paste0("~", nm)), sub, deff = "replace")
      res$beta[[length(res$beta) + 1]] <- list(year = Y, indicator = nm, district = k,
        estimate = as.numeric(ci), se = as.numeric(SE(ci)), ci = unname(confint(ci)[1, ]), nrow = nrow(sub),
        degf = degf(sub), deff_true = unname(deff(m1)), deff_replace = unname(deff(m2)),
        n = sum(d$year == Y & d$district == k & ans), wsum = sum(weights(sub)))
    }
  }
  for (k in c(dists, "Totalt")) {
    dom <- d$year == Y & d$n_scored > 0 & (k == "Totalt" | d$district == k)
    m <- svymean(~score, cal[dom, ])
    res$index[[length(res$index) + 1]] <- list(year = Y, district = k, estimate = unname(coef(m)),
                                               se = as.numeric(SE(m)), n = sum(dom))
  }
}
writeLines(toJSON(res, digits = NA, auto_unbox = TRUE), a[3])
