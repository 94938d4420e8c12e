#!/usr/bin/env Rscript
# Runs the oracle (shared/conformance/reference.R) and then refits its trend models with year centred
# at `centre` (back-transformed to the uncentred parametrisation), to measure how much of the
# Python/R difference is R's own rounding in the nearly collinear (1, year) columns.
#   Rscript trend_centred.R RESPONSES.csv POPULATION.csv OUTDIR CENTRE
.cargs <- commandArgs(trailingOnly = TRUE)
ref <- normalizePath(file.path(dirname(sub("--file=", "", grep("--file=", commandArgs(), value = TRUE))),
                               "..", "..", "..", "shared", "conformance", "reference.R"), mustWork = FALSE)
if (!file.exists(ref)) ref <- "/work/shared/conformance/reference.R"
centre <- as.numeric(.cargs[4])
commandArgs <- function(trailingOnly = FALSE) .cargs[1:3]
source(ref)
rows <- list()
for (j in seq_len(nrow(IND))) {
  yv <- paste0("y_", IND$indicator[j])
  sub <- cal[base[[j]], ]
  sub <- update(sub, year_c = year_num - centre)
  m <- suppressWarnings(svyglm(as.formula(paste(yv, "~ year_c + district")), design = sub,
                               family = quasibinomial(), control = glm.control(epsilon = 1e-12, maxit = 100)))
  b <- coef(m); V <- vcov(m)
  Tm <- diag(length(b)); Tm[1, 2] <- -centre
  b <- drop(Tm %*% b); V <- Tm %*% V %*% t(Tm)
  term <- names(coef(m)); term[term == "year_c"] <- "year"
  isd <- startsWith(term, "district")
  term[isd] <- paste0("district[", substring(term[isd], nchar("district") + 1), "]")
  rows[[j]] <- data.frame(indicator = IND$indicator[j], term = term, estimate = sprintf("%.17g", b),
                          se = sprintf("%.17g", sqrt(diag(V))))
}
write.csv(do.call(rbind, rows), file.path(.cargs[3], "trend_centred.csv"), row.names = FALSE, quote = FALSE)
