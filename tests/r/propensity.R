#!/usr/bin/env Rscript
# Response propensities (issue 9) in R `survey`: per year, the design-weighted logistic regression
#
#   svyglm(responded ~ district + factor(sex) + age_group, svydesign(id = ~1, weights = ~d), quasibinomial())
#
# on the gross sample (main effects, first level of each the reference), and its fitted propensities.
#   Rscript propensity.R GROSS.csv OUT.csv        (GROSS: resp_id, year, district, sex, age_group, responded, d)
# OUT: resp_id, year, p (17 significant digits) for every row of GROSS.
suppressPackageStartupMessages(library(survey))
args <- commandArgs(trailingOnly = TRUE)
g <- read.csv(args[1], colClasses = c(resp_id = "character"), encoding = "UTF-8", stringsAsFactors = FALSE)
g$p <- NA_real_
for (y in sort(unique(g$year))) {
  i <- g$year == y
  des <- svydesign(id = ~1, weights = ~d, data = g[i, ])
  fit <- svyglm(responded ~ district + factor(sex) + age_group, design = des, family = quasibinomial(),
                control = glm.control(epsilon = 1e-14, maxit = 100))
  g$p[i] <- fitted(fit)
}
g$p <- sprintf("%.17g", g$p)
write.csv(g[, c("resp_id", "year", "p")], args[2], row.names = FALSE)
