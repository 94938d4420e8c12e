#!/usr/bin/env Rscript
# district_domains.R -- live R survey references for the district x sex / age group domains and the answer
# distributions (tests/test_district_domains.py, tests/test_report_distributions.py)
#
#   Rscript district_domains.R RESPONSES.csv POPULATION.csv OUT.json
#
# The contract's calibrated design exactly as shared/conformance/reference.R builds it (stratified by
# year x district, raking to district x sex and district x age_group, full-rank model matrix), then for
# unsafe_after_dark (q_safe_after_dark in 3, 4, 5) and every year:
#   by_district_sex: svyby(~y, ~district + sex, subset(cal, year == Y & answered), svymean)
#   by_district_age: svyby(~y, ~district + age_group, subset(cal, year == Y & answered), svymean)
# and the answer distribution of q_safe_after_dark (every code, "vet ej" included):
#   distribution: svymean(~factor(q_safe_after_dark), subset(cal, year == Y & district == k & answered))
#                 and the same over all districts (Totalt)
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
d$kvinna <- as.numeric(d$sex == 2); pop$kvinna <- as.numeric(pop$sex == 2)
for (j in seq_along(AGE_COLS)) {
  d[[AGE_COLS[j]]] <- as.numeric(d$age_group == AGE[j + 1]); pop[[AGE_COLS[j]]] <- as.numeric(pop$age_group == AGE[j + 1])
}
f <- as.formula(paste("~ 0 + stratum + stratum:kvinna +", paste0("stratum:", AGE_COLS, collapse = " + ")))
totals <- colSums(model.matrix(f, pop) * pop$population)
d$y <- as.numeric(!is.na(d$q_safe_after_dark) & d$q_safe_after_dark %in% c(3, 4, 5))
CODES <- sort(unique(d$q_safe_after_dark[!is.na(d$q_safe_after_dark)]))
for (c in CODES) d[[paste0("a", c)]] <- as.numeric(!is.na(d$q_safe_after_dark) & d$q_safe_after_dark == c)
AF <- as.formula(paste("~", paste0("a", CODES, collapse = " + ")))
des <- svydesign(ids = ~1, strata = ~stratum, weights = ~design_weight, data = d)
cal <- calibrate(des, f, population = totals, calfun = "raking", maxit = 100, epsilon = 1e-12, sparse = TRUE)
res <- list(by_district_sex = list(), by_district_age = list(), distribution = list())
ans <- !is.na(d$q_safe_after_dark)
for (Y in sort(unique(d$year))) {
  sub <- cal[d$year == Y & ans, ]
  b <- svyby(~y, ~district + sex, sub, svymean)
  res$by_district_sex[[length(res$by_district_sex) + 1]] <- list(year = Y, district = as.character(b$district),
    sex = b$sex, estimate = unname(coef(b)), se = unname(SE(b)))
  b <- svyby(~y, ~district + age_group, sub, svymean)
  res$by_district_age[[length(res$by_district_age) + 1]] <- list(year = Y, district = as.character(b$district),
    age_group = as.character(b$age_group), estimate = unname(coef(b)), se = unname(SE(b)))
  for (k in c(sort(unique(d$district[d$year == Y]), method = "radix"), "Totalt")) {
    keep <- d$year == Y & ans & (k == "Totalt" | d$district == k)
    m <- svymean(AF, cal[keep, ])   # = svymean(~factor(item)) on the answered rows (0/1 per code)
    res$distribution[[length(res$distribution) + 1]] <- list(year = Y, district = k,
      code = sub("^a", "", names(coef(m))), estimate = unname(coef(m)), se = unname(SE(m)))
  }
}
writeLines(toJSON(res, digits = NA, auto_unbox = TRUE), a[3])
