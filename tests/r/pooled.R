#!/usr/bin/env Rscript
# Pooled years and numeric auxiliaries (issue 9) in R `survey`: the waves of YEARS stacked, calibrated wave
# by wave.
#
#   Rscript pooled.R RESPONSES.csv POPULATION.csv YEARS K AUX OUT.json     (YEARS e.g. 2023,2024; K the
#                                                                          divisor of the weights; AUX a column or -)
#
# The rows of the waves in YEARS, svydesign(id = ~1, strata = ~stratum (year x district),
# weights = ~design_weight / k), raked with calibrate(calfun = "raking") to reference.R's full-rank
# matrix per stratum (1[h], 1[h] woman, 1[h] age a for a != 16-24) with the population totals / k
# (each wave's own margins: the columns of a stratum belong to one wave); with AUX also, per stratum, the
# column 1[h] * AUX with the stratum's total of the population file's AUX (a numeric auxiliary's total per
# year x district, as trygghet run --aux AUX); then for every indicator of
# the data contract svymean(~y, subset(cal, answered & district)) per district and for all districts
# ("Totalt"). Writes {indicator: {district: [..], estimate: [..], se: [..], n: [..]}, _weights: {resp_id: [..],
# year: [..], weight: [..]}} (the calibrated weights of the stacked rows, divided by K).
suppressPackageStartupMessages({library(survey); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
years <- as.integer(strsplit(args[3], ",")[[1]]); k <- as.numeric(args[4]); aux <- args[5]
r <- read.csv(args[1], colClasses = c(resp_id = "character"), encoding = "UTF-8", stringsAsFactors = FALSE)
p <- read.csv(args[2], encoding = "UTF-8", stringsAsFactors = FALSE)
r <- r[r$year %in% years, ]; p <- p[p$year %in% years, ]
AGE <- c("16-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75-84")
r$stratum <- paste(r$year, r$district, sep = "|")
keys <- sort(unique(r$stratum), method = "radix")
pop <- c(); cols <- list()
for (h in seq_along(keys)) {
  inh <- as.numeric(r$stratum == keys[h]); ph <- p[paste(p$year, p$district, sep = "|") == keys[h], ]
  cols[[paste0("x", h, "_all")]] <- inh; pop <- c(pop, sum(ph$population))
  cols[[paste0("x", h, "_w")]] <- inh * (r$sex == 2); pop <- c(pop, sum(ph$population[ph$sex == 2]))
  for (j in 2:7) {
    cols[[paste0("x", h, "_a", j)]] <- inh * (r$age_group == AGE[j])
    pop <- c(pop, sum(ph$population[ph$age_group == AGE[j]]))
  }
  if (aux != "-") { cols[[paste0("x", h, "_aux")]] <- inh * r[[aux]]; pop <- c(pop, sum(ph[[aux]])) }
}
x <- as.data.frame(cols); r <- cbind(r, x)
d <- svydesign(id = ~1, strata = ~stratum, weights = ~I(design_weight / k), data = r)
f <- as.formula(paste("~0 +", paste(names(x), collapse = " + ")))
cal <- calibrate(d, f, population = pop / k, calfun = "raking", epsilon = 1e-12, maxit = 100)
PROBLEMS <- c("littering", "dark_places", "graffiti", "vandalism", "youth_groups", "drug_dealing",
              "drunk_people", "traffic")
IND <- list(unsafe_after_dark = list("q_safe_after_dark", 3:5), safe_after_dark = list("q_safe_after_dark", 1:2),
            worried_crime = list("q_worry_crime", 1:2))
for (it in PROBLEMS) IND[[paste0("problem_", it)]] <- list(paste0("q_problem_", it), 1:2)
for (it in c("violence", "theft", "vandalism")) IND[[paste0("victim_", it)]] <- list(paste0("q_victim_", it), 1)
IND$police_care <- list("q_police_care", 1:2)
dists <- c(sort(unique(r$district), method = "radix"), "Totalt")
res <- list()
for (name in names(IND)) {
  item <- r[[IND[[name]][[1]]]]
  ans <- !is.na(item)
  cal <- update(cal, y = as.numeric(item %in% IND[[name]][[2]]), a = as.numeric(ans))
  est <- se <- n <- c()
  for (dist in dists) {
    keep <- ans & (dist == "Totalt" | r$district == dist)
    m <- svymean(~y, subset(cal, keep))
    est <- c(est, coef(m)); se <- c(se, SE(m)); n <- c(n, sum(keep))
  }
  res[[name]] <- list(district = dists, estimate = unname(est), se = unname(se), n = n)
}
res[["_weights"]] <- list(resp_id = r$resp_id, year = r$year, weight = unname(weights(cal)))
writeLines(toJSON(res, digits = NA, auto_unbox = FALSE), args[6])
