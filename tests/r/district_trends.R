#!/usr/bin/env Rscript
# Runs the oracle (shared/conformance/reference.R: calibrated design, trend.csv) and then fits, per indicator
# named in INDICATORS (comma-separated), the district x year interaction model
#   svyglm(y ~ year_num * district, family = quasibinomial(), design = subset(calibrated, answered))
# twice: with glm's default epsilon 1e-8 (`loose`), whose QR tolerance (min(1e-7, epsilon / 1000)) finds the
# aliased columns, and on the columns it keeps with epsilon 1e-12 (`tight`, the oracle's setting; with it
# glm's QR no longer finds them). A trend that moves between the two is not identified (separation: R stops
# somewhere on the way to infinity).
# Per fit: the coefficients R keeps, their vcov, the aliased columns, df.residual, and for every district
# its yearly trend on the logit scale: the model-matrix difference of the district's row one year later
# (c, over the kept coefficients: any parametrisation) times the coefficients, with sqrt(c' V c).
# Also the fitted share per district x year (tight fit) and the oracle's trend.csv (`main`).
#   Rscript district_trends.R RESPONSES.csv POPULATION.csv INDICATORS OUT.json
.cargs <- commandArgs(trailingOnly = TRUE)
ref <- normalizePath(file.path(dirname(sub("--file=", "", grep("--file=", commandArgs(), value = TRUE))),
                               "..", "..", "..", "shared", "conformance", "reference.R"), mustWork = FALSE)
if (!file.exists(ref)) ref <- "/work/shared/conformance/reference.R"
wanted <- strsplit(.cargs[3], ",")[[1]]
oracle_dir <- file.path(tempdir(), "oracle")
dir.create(oracle_dir)
commandArgs <- function(trailingOnly = FALSE) c(.cargs[1:2], oracle_dir)
source(ref)
library(jsonlite)

# svyglm(y ~ 0 + X) on the columns `cols` of the interaction model's matrix (all rows: zero weights outside
# the domain stay in the calibrated design), glm epsilon `eps`
fit_cols <- function(yv, sub, cols, eps) {
  mm <- model.matrix(~ year_num * district, sub$variables)
  sub$variables$X <- mm[, cols, drop = FALSE]
  warn <- character()
  m <- withCallingHandlers(
    # svyglm evaluates control= in its own frame: the value is spliced in
    eval(bquote(svyglm(.(as.formula(paste(yv, "~ 0 + X"))), design = sub, family = quasibinomial(),
                       control = glm.control(epsilon = .(eps), maxit = 100)))),
    warning = function(w) { warn <<- c(warn, conditionMessage(w)); invokeRestart("muffleWarning") })
  b <- coef(m)
  names(b) <- sub("^X", "", names(b))
  list(m = m, b = b[!is.na(b)], warn = unique(warn))
}

summarise <- function(f, present) {
  b <- f$b
  V <- vcov(f$m)[paste0("X", names(b)), paste0("X", names(b)), drop = FALSE]
  cs <- lapply(present, function(p) {
    rows <- data.frame(year_num = c(2023, 2024), district = factor(p, levels = levels(d$district)))
    X <- model.matrix(~ year_num * district, rows)
    (X[2, ] - X[1, ])[names(b)]
  })
  list(terms = names(b), coef = unname(b), vcov = unname(V), df_residual = f$m$df.residual,
       converged = f$m$converged, warnings = f$warn,
       slope = sapply(cs, function(cc) sum(cc * b)),
       slope_se = sapply(cs, function(cc) sqrt(drop(t(cc) %*% V %*% cc))),
       slope_c = lapply(cs, unname))
}

res <- list()
for (ind in wanted) {
  j <- which(IND$indicator == ind)
  yv <- paste0("y_", ind)
  sub <- cal[base[[j]], ]
  dd <- sub$variables
  inside <- weights(sub) > 0
  present <- sort(unique(as.character(dd$district_name[inside])), method = "radix")
  all_cols <- colnames(model.matrix(~ year_num * district, dd))
  loose <- fit_cols(yv, sub, all_cols, 1e-8)
  aliased <- setdiff(all_cols, names(loose$b))
  # the oracle's tolerance on the columns R keeps (with epsilon 1e-12 glm's QR no longer finds them aliased)
  tight <- fit_cols(yv, sub, setdiff(all_cols, aliased), 1e-12)
  fitted_cells <- aggregate(list(fitted = fitted(tight$m)[inside]),
                            by = list(year = dd$year[inside], district = dd$district_name[inside]), FUN = mean)
  res[[ind]] <- list(districts = present, aliased = I(aliased), tight = summarise(tight, present),
                     loose = summarise(loose, present), fitted = fitted_cells)
}
main <- read.csv(file.path(oracle_dir, "trend.csv"), colClasses = c("character", "character", "numeric", "numeric"))
writeLines(toJSON(list(models = res, main = main), digits = NA, auto_unbox = TRUE, na = "null"), .cargs[4])
