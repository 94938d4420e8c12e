"""English messages of the database (``survey/data/store``): addresses, roles, loads, sources, runs, weights and
published tables, and the actions (``"läsa svaren"``) its errors name. Keys: the Swedish templates of the source
(see :mod:`survey.pipeline.english`)."""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    "Databasen {} finns inte. Ange --db med en databas som trygghet har skrivit (t.ex. sqlite:///out/trygghet.db) "
    "eller sätt {}.": (
        "The database {} does not exist. Give --db a database trygghet has written (e.g. sqlite:///out/trygghet.db) "
        "or set {}."
    ),
    # --- connections, addresses, roles (bulk.py, engine.py, roles.py) ------------------------------------------
    "Läsningen från databasen misslyckades: inget svar från servern.": (
        "Reading from the database failed: no answer from the server."
    ),
    "Läsningen från databasen misslyckades: {}": "Reading from the database failed: {}",
    "Kan inte {}: filen i {} är ingen SQLite-databas (den finns men är något annat, eller skadad). Ange en annan "
    "fil med --db sqlite:///fil.db, eller flytta undan den.": (
        "Cannot {}: the file in {} is not a SQLite database (it exists but is something else, or damaged). Give "
        "another file with --db sqlite:///file.db, or move it away."
    ),
    "Databasanslutningen är stängd.": "The database connection is closed.",
    "Kan inte {}: databasfilen i {} går inte att skriva i för användaren {} (filen eller mappen den ligger i är "
    "skrivskyddad). Ge skrivrätt till båda, eller ange en annan fil med --db sqlite:///fil.db.": (
        "Cannot {}: the database file in {} cannot be written by the user {} (the file or the folder it is in is "
        "read-only). Give write access to both, or give another file with --db sqlite:///file.db."
    ),
    "Databasen {} stöds inte: trygghet använder SQLite (sqlite:///fil.db) eller PostgreSQL "
    "(postgresql+psycopg://användare@värd:5432/databas).": (
        "The database {} is not supported: trygghet uses SQLite (sqlite:///file.db) or PostgreSQL "
        "(postgresql+psycopg://user@host:5432/database)."
    ),
    "Kan inte använda databasen {}: drivrutinen {} är inte installerad. Använd postgresql+psycopg:// (psycopg 3 "
    "följer med trygghet) eller sqlite:///.": (
        "Cannot use the database {}: the driver {} is not installed. Use postgresql+psycopg:// (psycopg 3 comes "
        "with trygghet) or sqlite:///."
    ),
    "Kan inte skapa mappen för databasen {}: {}. Välj en annan sökväg (--db sqlite:///fil.db).": (
        "Cannot create the folder of the database {}: {}. Choose another path (--db sqlite:///file.db)."
    ),
    "Kan inte använda databasadressen {}: {}. Skriv den som sqlite:///fil.db eller "
    "postgresql+psycopg://användare@värd:5432/databas.": (
        "Cannot use the database address {}: {}. Write it as sqlite:///file.db or "
        "postgresql+psycopg://user@host:5432/database."
    ),
    "Databasrollen {} får inte {} i databasen {} ({}). Rollen saknar behörighet för det (rollerna den är medlem "
    "i: {}; trygghets tabeller ägs av {}). Med rollerna från `trygghet db roles` läser läsrollen (standardnamn "
    "report_reader) bara publicerade tabeller, skattningar och rapportvyerna, pipelinerollen (trygghet_pipeline) "
    "läser och skriver data och körningar, och bara ägarrollen (trygghet_owner) ändrar schemat.": (
        "The database role {} may not {} in the database {} ({}). The role lacks the privilege for it (the roles "
        "it is a member of: {}; trygghet's tables are owned by {}). With the roles of `trygghet db roles`, the "
        "reader role (default name report_reader) only reads published tables, estimates and the report views, "
        "the pipeline role (trygghet_pipeline) reads and writes data and runs, and only the owner role "
        "(trygghet_owner) changes the schema."
    ),
    "funktionen": "the function",
    "okänd": "unknown",
    "schemat": "the schema",
    "sekvensen": "the sequence",
    "tabellen": "the table",
    "vyn": "the view",
    "Kan inte {} i databasen {}: {}.": "Cannot {} in the database {}: {}.",
    "Kan inte {}: anslutningen till databasen {} misslyckades ({}). Kontrollera adressen (--db eller {}), användaren "
    "och lösenordet, och att servern är igång.": (
        "Cannot {}: the connection to the database {} failed ({}). Check the address (--db or {}), the user and the "
        "password, and that the server is running."
    ),
    "läsa databasens schemaversion": "read the database's schema version",
    "öppna databasen": "open the database",
    "uppgradera databasschemat": "upgrade the database schema",
    "Databasschemat i {} behöver uppgraderas till version {}, men rollen {} får inte ändra schemat. Kör "
    "`trygghet db roles --db <adress>` en gång som administratör (uppgraderar schemat, ger ägarrollen "
    "trygghet_owner de nya tabellerna och rollerna deras behörigheter), eller öppna databasen en gång som "
    "ägarrollen, och försök igen. ({})": (
        "The database schema in {} needs an upgrade to version {}, but the role {} may not change the schema. Run "
        "`trygghet db roles --db <address>` once as an administrator (it upgrades the schema, gives the owner role "
        "trygghet_owner the new tables and the roles their privileges), or open the database once as the owner "
        "role, and try again. ({})"
    ),
    "Ogiltigt rollnamn {}: använd små bokstäver, siffror och _ (högst 63 tecken, inte en siffra först).": (
        "Invalid role name {}: use lower-case letters, digits and _ (at most 63 characters, not a digit first)."
    ),
    "Databasroller finns bara i PostgreSQL; en SQLite-fil skyddas med filens rättigheter (t.ex. chmod 600).": (
        "Database roles exist only in PostgreSQL; an SQLite file is protected by the file's permissions "
        "(e.g. chmod 600)."
    ),
    "skapa databasrollerna": "create the database roles",
    "Databasen har inget aktuellt schema (search_path är tomt).": (
        "The database has no current schema (search_path is empty)."
    ),
    # --- loading a wave (loading.py) ----------------------------------------------------------------------------
    "Svarstabellen saknar de kanoniska kolumnerna {}.": "The responses table lacks the canonical columns {}.",
    "{}: källfilen saknar sha256 och kan inte sparas.": "{}: the source file has no sha256 and cannot be stored.",
    "{}: en {}-fil angavs som vågens {}-fil (a {} file was given as the wave's {} file).": (
        "{0}: a {1} file was given as the wave's {2} file."
    ),
    "{}: {}-filen har ingen datatabell.": "{}: the {} file has no data table.",
    "samma år": "the same years",
    "{}: {} för år {} finns redan från en annan fil, {} (källa {}, {}). Ange --replace (replace=True) för att spara "
    "filen som ny version; den gamla sparas som ersatt och kan visas med `trygghet sources list`.": (
        "{}: {} for year {} already comes from another file, {} (source {}, {}). Give --replace (replace=True) to "
        "store the file as a new version; the old one is kept as replaced and listed by `trygghet sources list`."
    ),
    "år {}, som delvis är samma som filens år {}": "years {}, which partly are the file's years {}",
    "{}: filens {} för år {} överlappar den sparade filen {} (källa {}, år {}) men saknar år {}; en ersättning måste "
    "täcka alla år i filen den ersätter. Dra tillbaka den gamla filen först (`trygghet sources withdraw {}`) eller "
    "ersätt den uttryckligen (`trygghet sources replace {} FIL`).": (
        "{}: the file's {} for year {} overlaps the stored file {} (source {}, years {}) but lacks the years {}; a "
        "replacement must cover every year of the file it replaces. Withdraw the old file first (`trygghet sources "
        "withdraw {}`) or replace it explicitly (`trygghet sources replace {} FILE`)."
    ),
    "Vågen saknar {}-fil; både svar och befolkning behövs.": (
        "The wave lacks a {} file; both responses and population are needed."
    ),
    "spara vågen": "store the wave",
    "{}: källa {} ersätter källa {}, som sparas som ersatt": (
        "{}: source {} replaces source {}, which is kept as replaced"
    ),
    "Vågen bryter mot en regel i databasen och sparades inte (inget skrevs): {}": (
        "The wave breaks a rule of the database and was not stored (nothing was written): {}"
    ),
    "dragits tillbaka": "withdrawn",
    "ersatts": "replaced",
    "{}: filen har sparats förut och sedan {} (källa {}). Ange --replace (replace=True) för att göra den till den "
    "gällande versionen igen.": (
        "{}: the file was stored before and then {} (source {}). Give --replace (replace=True) to make it the "
        "current version again."
    ),
    "sparad igen med --replace": "stored again with --replace",
    "{}: filen är redan inläst (källa {}) men lästes då på ett annat sätt ({}), så raderna blir andra. Ange "
    "--replace (replace=True) för att spara den nya läsningen som en ny version; den gamla behålls som ersatt.": (
        "{}: the file is stored already (source {}) but was read another way then ({}), so its rows differ. Give "
        "--replace (replace=True) to store the new reading as a new version; the old one is kept as replaced."
    ),
    "mappning": "mapping",
    "kodbok": "codebook",
    "teckenkodning": "encoding",
    "avgränsare": "delimiter",
    "decimaltecken": "decimal mark",
    "mappningens eller kodbokens innehåll": "the content of the mapping or the codebook",
    # --- published tables and views (published.py) -------------------------------------------------------------
    "Kan inte publicera {} {}: cellerna saknar kolumnen {}.": "Cannot publish {} {}: the cells lack the column {}.",
    "Kan inte publicera {} {}: {} undertryckt(a) cell(er) har ett värde (suppressed cell; första: rad {}, kolumn {}). "
    "En undertryckt cell ska vara tom; värdet får aldrig nå en publicerad tabell.": (
        "Cannot publish {} {}: {} suppressed cell(s) have a value (first: row {}, column {}). A suppressed cell must "
        "be empty; its value may never reach a published table."
    ),
    "Kan inte publicera {} {}: cellen (rad {}, kolumn {}) finns mer än en gång.": (
        "Cannot publish {} {}: the cell (row {}, column {}) occurs more than once."
    ),
    "publicera tabellen": "publish the table",
    "Kan inte publicera {} {}: {}": "Cannot publish {} {}: {}",
    "publicera tabellerna": "publish the tables",
    "Kan inte publicera de {} tabellerna (inget publicerades): {}": (
        "Cannot publish the {} tables (none was published): {}"
    ),
    "Kan inte publicera tabellerna.": "Cannot publish the tables.",
    "Kan inte publicera {} {}: det finns ingen körning {}.": "Cannot publish {} {}: there is no run {}.",
    "Kan inte publicera {} {}: körning {} misslyckades, och en misslyckad körnings resultat publiceras aldrig. "
    "Gör en ny körning.": (
        "Cannot publish {} {}: run {} failed, and the results of a failed run are never published. Make a new run."
    ),
    "läsa de publicerade tabellerna": "read the published tables",
    "läsa den publicerade tabellen": "read the published table",
    "Det finns ingen {}publicerad tabell {} för {}.": "There is no {}published table {} for {}.",
    "version {} av ": "version {} of the ",
    "Okänd rapportvy {}; vyerna är {}.": "Unknown report view {}; the views are {}.",
    "Vyn {} har ingen kolumn {}; kolumnerna är {}.": "The view {} has no column {}; the columns are {}.",
    "läsa rapportvyn {}": "read the report view {}",
    # --- reading (reads.py) -------------------------------------------------------------------------------------
    "läsa källfilerna": "read the source files",
    "läsa svaren": "read the responses",
    "läsa befolkningen": "read the population",
    "läsa fritextsvaren": "read the free-text answers",
    "läsa karantänen": "read the quarantine",
    # --- runs (runs.py, weights.py) -----------------------------------------------------------------------------
    "Det finns ingen körning {} i databasen.": "There is no run {} in the database.",
    "Körning {} är redan {} (run is already {}); en avslutad körnings resultat ändras aldrig. Starta en ny körning i "
    "stället.": ("Run {0} is already {1}; a finished run's results never change. Start a new run instead."),
    "starta en körning": "start a run",
    "Kan inte starta körningen: källfil(er) {} finns inte i databasen (source file ids not in the database).": (
        "Cannot start the run: source file id(s) {} are not in the database."
    ),
    "markera körningen som misslyckad": "mark the run as failed",
    "avsluta körningen": "finish the run",
    "Steget {} är redan gjort i körning {}; ett stegs resultat skrivs bara en gång. Starta en ny körning för att göra "
    "om det.": (
        "The step {} is already done in run {}; a step's results are written only once. Start a new run to do it again."
    ),
    "Okänd resultattabell {}; kända: {}.": "Unknown result table {}; known: {}.",
    "spara steget {}": "store the step {}",
    "Kan inte spara steget {} i körning {} (inget skrevs): {}": (
        "Cannot store the step {} in run {} (nothing was written): {}"
    ),
    "Kan inte spara körning {}: skattningarna saknar kolumnen 'indicator'.": (
        "Cannot store run {}: the estimates lack the column 'indicator'."
    ),
    "läsa körningens steg": "read the run's steps",
    "läsa körningarna": "read the runs",
    "läsa körningen": "read the run",
    "läsa körningens källfiler": "read the run's source files",
    "Svaren ({} rader) är inte de {} viktade raderna i samma ordning; läs dem med Store.run_responses(run_id).": (
        "The responses ({} rows) are not the {} weighted rows in the same order; read them with "
        "Store.run_responses(run_id)."
    ),
    "Kan inte spara körning {}: viktramen saknar kolumnen {}.": (
        "Cannot store run {}: the weights frame lacks the column {}."
    ),
    "Kan inte spara körning {}: designen har {} rader men vikterna {}.": (
        "Cannot store run {}: the design has {} rows but the weights {}."
    ),
    "Kan inte spara vikterna i körning {}: kalibreringsspecifikationen saknar {} (behövs: {}).": (
        "Cannot store the weights of run {}: the calibration specification lacks {} (needed: {})."
    ),
    "spara vikterna": "store the weights",
    "Kan inte spara vikterna i körning {} (inget skrevs): {}": (
        "Cannot store the weights of run {} (nothing was written): {}"
    ),
    "läsa vikterna": "read the weights",
    "Körning {} har inga sparade vikter: viktsteget är inte gjort (steg: {}).": (
        "Run {} has no stored weights: the weighting step is not done (steps: {})."
    ),
    "inga": "none",
    "spara körningens resultat": "store the run's results",
    "Kan inte spara körning {}s resultat (inget skrevs): {}": (
        "Cannot store the results of run {} (nothing was written): {}"
    ),
    "läsa körningens resultat": "read the run's results",
    # --- sources (sources.py) -----------------------------------------------------------------------------------
    "Det finns ingen källfil med id {} i databasen (se `trygghet sources list`).": (
        "There is no source file with id {} in the database (see `trygghet sources list`)."
    ),
    "läsa källfilen": "read the source file",
    "dra tillbaka källfilen": "withdraw the source file",
    "Källa {} ({}) används redan inte: den är {}.": "Source {} ({}) is already out of use: it is {}.",
    "ersatt av källa {}": "replaced by source {}",
    "tillbakadragen": "withdrawn",
    "ersätta källfilen": "replace the source file",
    "aktiv": "active",
    "ersatt": "replaced",
    "återkallad": "withdrawn",
    "Källa {} ({}) är inte aktiv ({}); bara den gällande versionen kan ersättas (se `trygghet sources list`).": (
        "Source {} ({}) is not active ({}); only the current version can be replaced (see `trygghet sources list`)."
    ),
    "{}: filens år {} överlappar en annan aktiv källa, {} (källa {}, år {}). Ersätt den källan i stället, eller dra "
    "tillbaka den först.": (
        "{}: the file's years {} overlap another active source, {} (source {}, years {}). Replace that source "
        "instead, or withdraw it first."
    ),
    "{}: källa {} ersätter källa {}": "{}: source {} replaces source {}",
    "{} är redan den sparade versionen av källa {}": "{} is already the stored version of source {}",
    "ersätter källa {}": "replaces source {}",
}
