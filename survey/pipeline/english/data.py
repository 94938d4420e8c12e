"""English messages of reading and validating files (``survey/data``: codebooks, encodings, Excel, readers,
ingest, validation, the gross sample, synth). Keys: the Swedish templates of the source (see
:mod:`survey.pipeline.english`)."""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    # --- codebooks and mappings (survey/data/codebook.py) -------------------------------------------------------
    "{}, rad {}: en nyckel måste vara en text eller ett tal, inte en lista eller mappning": (
        "{}, row {}: a key must be a text or a number, not a list or a mapping"
    ),
    "{}, rad {}: nyckeln {} finns två gånger (redan på rad {})": (
        "{}, row {}: the key {} occurs twice (already on row {})"
    ),
    "{}: för stor efter att alias (*namn) har expanderats (över {} värden); en kodbok eller mappning är några hundra "
    "rader": (
        "{}: too large once the aliases (*name) are expanded (over {} values); a codebook or mapping is a few "
        "hundred rows"
    ),
    "; bladet {} har dem, men trygghet läser bara arbetsbokens första blad: flytta bladet {} först eller spara det "
    "som en egen fil": (
        "; sheet {} has them, but trygghet reads only a workbook's first sheet: move sheet {} first or save it as "
        "a file of its own"
    ),
    "{}: kolumnen {} har koder med värdeetiketter; etiketterna används som områdesnamn ({} etiketter)": (
        "{}: column {} holds codes with value labels; the labels are used as district names ({} labels)"
    ),
    "{}: ett alias (*namn) pekar på sig självt; det går inte att läsa": (
        "{}: an alias (*name) points to itself; it cannot be read"
    ),
    "{}: filen är för stor för en kodbok eller mappning ({} byte)": (
        "{}: the file is too large for a codebook or mapping ({} bytes)"
    ),
    "{}: kodboken eller mappningen finns inte": "{}: the codebook or mapping does not exist",
    " på rad {}, kolumn {}": " at row {}, column {}",
    "{}: inte giltig YAML{} (t.ex. en parentes eller ett citattecken som inte stängs, fel indrag, eller en tabb i "
    "indraget)": (
        "{}: not valid YAML{} (e.g. a bracket or a quote that is not closed, a wrong indentation, or a tab in the "
        "indentation)"
    ),
    "{}: inte giltig YAML (t.ex. otillåtna tecken)": "{}: not valid YAML (e.g. characters that are not allowed)",
    "{}: inte UTF-8-text (byte {} är 0x{}); spara filen som UTF-8": (
        "{}: not UTF-8 text (byte {} is 0x{}); save the file as UTF-8"
    ),
    "{}: kan inte läsas ({})": "{}: cannot be read ({})",
    "{}: väntade en mappning av nycklar (namn: värde) på översta nivån": (
        "{}: expected a mapping of keys (name: value) at the top level"
    ),
    " (och {} fel till)": " (and {} more errors)",
    "{}: för djupt nästlad": "{}: nested too deeply",
    "värdet {} saknar omkodning i mappningen {}": "the value {} has no recode in the mapping {}",
    "åldern {} är inget heltal inom mappningens åldersgrupper (age_bins)": (
        "the age {} is not an integer within the mapping's age groups (age_bins)"
    ),
    # --- encodings (survey/data/encodings.py) -------------------------------------------------------------------
    " (filen slutar mitt i ett tecken: den verkar avkortad)": (
        " (the file ends in the middle of a character: it seems truncated)"
    ),
    "kan inte avkodas som {}: byten 0x{} är inte giltig {}{}. Ange rätt teckenkodning med --encoding (cp1252 för "
    "svenska Windows-filer) eller låt trygghet avgöra den själv": (
        "cannot be decoded as {}: the byte 0x{} is not valid {}{}. Give the right encoding with --encoding (cp1252 "
        "for Swedish Windows files) or let trygghet decide it"
    ),
    "{} med BOM": "{} with BOM",
    "är binär data och ingen textfil ({} styrtecken bland de första {} byten); är det en annan sorts fil med "
    "CSV-namn, eller en trasig fil?": (
        "is binary data and not a text file ({} control characters among the first {} bytes); is it another kind "
        "of file with a CSV name, or a broken file?"
    ),
    "är nästan helt UTF-8 ({} UTF-8-kodade tecken som å, ä, ö) men byten 0x{} här är inte giltig UTF-8 ({} sådana "
    "byte i filen). Filen har blandade teckenkodningar eller en enstaka felaktig byte, oftast efter en redigering i "
    "ett annat program; att läsa den som cp1252 skulle förvränga alla å, ä och ö. Spara filen som UTF-8 igen hos "
    "leverantören, eller ange --encoding om hela filen verkligen har en och samma kodning": (
        "is almost entirely UTF-8 ({} UTF-8 encoded characters such as a-ring, a-umlaut, o-umlaut) but the byte 0x{} "
        "here is not valid UTF-8 ({} such bytes in the file). The file has mixed encodings or a single wrong byte, "
        "usually after an edit in another program; reading it as cp1252 would garble every Swedish letter. Have the "
        "vendor save the file as UTF-8 again, or give --encoding if the whole file really has one and the same "
        "encoding"
    ),
    "är binär data och ingen textfil ({} styrtecken i början); är det en annan sorts fil med CSV-namn, eller en "
    "trasig fil?": (
        "is binary data and not a text file ({} control characters at the start); is it another kind of file with "
        "a CSV name, or a broken file?"
    ),
    "slutar mitt i ett UTF-8-tecken: filen verkar avkortad. Hämta filen igen hela": (
        "ends in the middle of a UTF-8 character: the file seems truncated. Fetch the whole file again"
    ),
    "okänd teckenkodning {} (--encoding); använd t.ex. utf-8, cp1252 eller utf-16": (
        "unknown encoding {} (--encoding); use e.g. utf-8, cp1252 or utf-16"
    ),
    "med --encoding {} blir texten förvrängd ({} här och {} gånger till): så ser UTF-8-kodade å, ä och ö ut när de "
    "läses som {}. Filen är troligen UTF-8: ta bort --encoding eller ange --encoding utf-8": (
        "with --encoding {} the text is garbled ({} here and {} more times): that is how UTF-8 encoded Swedish "
        "letters look when read as {}. The file is probably UTF-8: remove --encoding or give --encoding utf-8"
    ),
    "{}: {} värden i kolumnen {} är SPSS-filens användardefinierade saknade värden ({}) och lästes som tomma (inget "
    "svar)": "{}: {} values in the column {} are the SPSS file's user-defined missing values ({}) and were read as "
    "blank (no answer)",
    "{}: raderna slutar med bara CR (Excel för Macs CSV-format); de lästes som vanliga radbrytningar": (
        "{}: the lines end in CR only (Excel for Mac's CSV format); they were read as ordinary line breaks"
    ),
    "{}: texten innehåller {} ({}, {} gånger): den verkar ha förvrängts innan den skickades (UTF-8 som lästs som "
    "cp1252 och sparats igen); kontrollera kommentarer och namn hos leverantören": (
        "{}: the text contains {} ({}, {} times): it seems garbled before it was sent (UTF-8 read as cp1252 and "
        "saved again); check comments and names with the vendor"
    ),
    "{}: teckenkodningen {} valdes (tecknen liknar svensk text mest så)": (
        "{}: the encoding {} was chosen (the characters look most like Swedish text that way)"
    ),
    "{}: teckenkodningen {} utan BOM avgjordes av filens nollbyte": (
        "{}: the encoding {} without BOM was decided from the file's zero bytes"
    ),
    # --- Excel workbooks (survey/data/excel.py) -----------------------------------------------------------------
    "är inte en läsbar .xlsx-arbetsbok (zip-filen är trasig eller avkortad: {})": (
        "is not a readable .xlsx workbook (the zip file is broken or truncated: {})"
    ),
    "är en zip-fil men ingen Excel-arbetsbok (xl/workbook.xml saknas); är det en annan sorts fil med .xlsx-namn?": (
        "is a zip file but not an Excel workbook (xl/workbook.xml is missing); is it another kind of file with an "
        ".xlsx name?"
    ),
    "är inte en läsbar .xlsx-arbetsbok (arbetsbokens struktur är trasig; är filen avkortad?)": (
        "is not a readable .xlsx workbook (the workbook's structure is broken; is the file truncated?)"
    ),
    "är inte en läsbar .xlsx-arbetsbok (ett blad är trasigt; är filen avkortad?)": (
        "is not a readable .xlsx workbook (a sheet is broken; is the file truncated?)"
    ),
    "är inte en läsbar .xlsx-arbetsbok ({})": "is not a readable .xlsx workbook ({})",
    "arbetsboken har inga kalkylblad": "the workbook has no worksheets",
    "är tom (bladet {} har ingen rubrikrad)": "is empty (the sheet {} has no header row)",
    "{}: blad {}: rad 1–{} ovanför kolumnnamnen hoppades över (rubrik {}); kolumnnamnen står på rad {}": (
        "{}: sheet {}: rows 1–{} above the column names were skipped (title {}); the column names are on row {}"
    ),
    "{}: blad {}: rad 1–{} ovanför kolumnnamnen hoppades över; kolumnnamnen står på rad {}": (
        "{}: sheet {}: rows 1–{} above the column names were skipped; the column names are on row {}"
    ),
    "blad {}, cell {}{}: ett värde utanför de {} namngivna kolumnerna (kolumnen saknar namn på rubrikraden)": (
        "sheet {}, cell {}{}: a value outside the {} named columns (the column has no name on the header row)"
    ),
    "det första bladet {} är tomt, men bladet {} har data; flytta det bladet först eller spara det som en egen fil": (
        "the first sheet {} is empty, but the sheet {} has data; move that sheet first or save it as a file of its own"
    ),
    "arbetsboken har svar på flera blad: bladet {} har samma kolumner som {} ({} rader). trygghet läser bara det "
    "första bladet och skulle tappa de andra bladens rader; lägg alla svar på ett blad eller spara varje blad som en "
    "egen fil": (
        "the workbook has responses on several sheets: the sheet {} has the same columns as {} ({} rows). trygghet "
        "reads only the first sheet and would lose the other sheets' rows; put every response on one sheet or save "
        "each sheet as a file of its own"
    ),
    "{}: bladet {} ({} ifyllda rader) lästes inte; trygghet läser bara det första bladet, {}": (
        "{}: the sheet {} ({} filled rows) was not read; trygghet reads only the first sheet, {}"
    ),
    "blad {} har sammanfogade celler {} (rad {}–{}): bara den första cellen har ett värde och de andra skulle läsas "
    "som tomma svar. Dela upp de sammanfogade cellerna och fyll i varje cell, eller exportera som CSV": (
        "sheet {} has merged cells {} (rows {}–{}): only the first cell has a value and the others would be read as "
        "empty answers. Unmerge the cells and fill in every cell, or export as CSV"
    ),
    "blad {}, cell {}{}: formeln {} har inget sparat värde ({} sådana celler: {}). Filen har skrivits av ett program "
    "som inte räknar ut formler, och trygghet läser aldrig en formel som ett tomt svar. Öppna filen i Excel och "
    "spara den igen, eller exportera den som CSV": (
        "sheet {}, cell {}{}: the formula {} has no saved value ({} such cells: {}). The file was written by a "
        "program that does not compute formulas, and trygghet never reads a formula as an empty answer. Open the "
        "file in Excel and save it again, or export it as CSV"
    ),
    "{}: blad {}: {} celler är formler; deras sparade värden lästes": (
        "{}: sheet {}: {} cells are formulas; their saved values were read"
    ),
    "{} (utan namn)": "{} (no name)",
    # --- the gross sample (survey/data/gross.py) ----------------------------------------------------------------
    " ({} rader till)": " ({} more rows)",
    "bruttourvalet avvisas: {}{}": "the gross sample is rejected: {}{}",
    "{} är inte en giltig kod för sex ({})": "{} is not a valid code for sex ({})",
    "{} är inte en åldersgrupp i kodboken ({})": "{} is not an age group of the codebook ({})",
    "responded {} måste vara 1 (svarade) eller 0 (svarade inte)": (
        "responded {} must be 1 (responded) or 0 (did not respond)"
    ),
    "året {} är inte rimligt (1900–2100)": "the year {} is not plausible (1900–2100)",
    "design_weight {} är inte ett ändligt tal > 0": "design_weight {} is not a finite number > 0",
    "resp_id {} finns mer än en gång samma år": "resp_id {} occurs more than once in the same year",
    "bruttourvalet saknar kolumnerna {} (det ska ha {} och valfritt design_weight); filen har {}": (
        "the gross sample lacks the columns {} (it should have {} and optionally design_weight); the file has {}"
    ),
    "bruttourvalet avvisas: {}": "the gross sample is rejected: {}",
    "{} är tomt": "{} is empty",
    # --- ingest (survey/data/ingest.py) -------------------------------------------------------------------------
    "två kolumner motsvarar samma kanoniska kolumn": "two columns correspond to the same canonical column",
    "{} (leverantörens kolumn {} i mappningen {})": "{} (the vendor's column {} in the mapping {})",
    " (avgränsare {}: är det rätt avgränsare?)": " (delimiter {}: is it the right delimiter?)",
    "saknar obligatoriska kolumner {}; filen har {}{}": "lacks the required columns {}; the file has {}{}",
    "resp_id {} finns mer än en gång år {} (första gången på rad {})": (
        "resp_id {} occurs more than once in year {} (the first time on row {})"
    ),
    "området {} har ingen befolkning för {} i {}": "the district {} has no population for {} in {}",
    "{}: kolumnerna {} finns inte i kodboken {} och lästes inte": (
        "{}: the columns {} are not in the codebook {} and were not read"
    ),
    "saknar kolumnen {} för hjälpvariabeln (--aux {}): numeriska hjälpvariabler behöver ett värde för varje svarande": (
        "lacks the column {} for the auxiliary variable (--aux {}): numeric auxiliary variables need a value for "
        "every respondent"
    ),
    "{}: design_weight saknas eller är tom: viktningen använder N_h / antal svarande_h": (
        "{}: design_weight is missing or empty: the weighting uses N_h / number of respondents_h"
    ),
    "{}: {} namn i {} börjar med '=', '+', '-' eller '@' (t.ex. {}); i kalkylprogram kan sådana namn tolkas som "
    "formler": (
        "{}: {} names in {} begin with '=', '+', '-' or '@' (e.g. {}); spreadsheet programs may read such names as "
        "formulas"
    ),
    "rad": "row",
    "rader": "rows",
    " ({} {} till är felaktiga)": " ({} more {} invalid)",
    "befolkningsfilen avvisas: {}{}": "the population file is rejected: {}{}",
    "{} (cell {})": "{} (cell {})",
    "dubblerad cell: rad {} och {} är båda {}": "duplicated cell: rows {} and {} are both {}",
    "befolkningsfilen saknar kolumnen {} med totaler per cell för hjälpvariabeln (--aux {}); filen har {}": (
        "the population file lacks the column {} with totals per cell for the auxiliary variable (--aux {}); the "
        "file has {}"
    ),
    "befolkningsfilen avvisas: ingen rad för cellen år {}, område {}, kön {}, åldersgrupp {}, som har svarande i {} "
    "({} sådana celler saknas)": (
        "the population file is rejected: no row for the cell year {}, district {}, sex {}, age group {}, which has "
        "respondents in {} ({} such cells are missing)"
    ),
    "{}: befolkningsceller för {} år x område utan svarande sparas men används inte: {}": (
        "{}: population cells for {} year × district combinations without respondents are stored but not used: {}"
    ),
    # --- reading files (survey/data/readers.py) -----------------------------------------------------------------
    "okänt filformat {} (--format); använd csv, xlsx, sav eller parquet": (
        "unknown file format {} (--format); use csv, xlsx, sav or parquet"
    ),
    "(ingen filändelse)": "(no file extension)",
    "filtypen {} stöds inte: trygghet läser CSV (.csv, .txt, .tsv), Excel (.xlsx), SPSS (.sav) och Parquet "
    "(.parquet), eller ange --format": (
        "the file type {} is not supported: trygghet reads CSV (.csv, .txt, .tsv), Excel (.xlsx), SPSS (.sav) and "
        "Parquet (.parquet), or give --format"
    ),
    "en Parquet-fil": "a Parquet file",
    "en SPSS-fil (.sav)": "an SPSS file (.sav)",
    "en gammal Excel-fil (.xls) eller annan Office-fil": "an old Excel file (.xls) or another Office file",
    "en zip-fil (t.ex. en Excel-arbetsbok .xlsx)": "a zip file (e.g. an Excel workbook .xlsx)",
    "är inte en textfil utan {} med ett CSV-namn; byt filändelse till den rätta (eller exportera filen som CSV)": (
        "is not a text file but {} with a CSV name; change the file extension to the right one (or export the file "
        "as CSV)"
    ),
    "okänd binär data": "unknown binary data",
    "textfil eller okänd data": "a text file or unknown data",
    "är inte en {}-fil: de första byten visar {}. Är filen hel och har den rätt filändelse?": (
        "is not a {} file: the first bytes show {}. Is the file whole and does it have the right extension?"
    ),
    "filen finns inte (eller är en mapp)": "the file does not exist (or is a folder)",
    "decimaltecknet måste vara '.' eller ',', inte {} (--decimal)": (
        "the decimal mark must be '.' or ',', not {} (--decimal)"
    ),
    "kan inte läsas som {} ({}); är filen hel och av den typ som namnet säger?": (
        "cannot be read as {} ({}); is the file whole and of the type its name says?"
    ),
    "har en rubrikrad men inga datarader": "has a header row but no data rows",
    "är tom (ingen rubrikrad med kolumnnamn)": "is empty (no header row with column names)",
    "rubrikfält {} är tomt: varje kolumn behöver ett namn": "header field {} is empty: every column needs a name",
    "rubrikraden har samma kolumnnamn två gånger": "the header row has the same column name twice",
    "kan inte läsas ({})": "cannot be read ({})",
    "är tom": "is empty",
    "avgränsaren måste vara ett tecken, inte {} (--delimiter)": (
        "the delimiter must be one character, not {} (--delimiter)"
    ),
    "rubrikraden har bara ett fält med avgränsaren {} men innehåller {} {}: fel avgränsare? Ange rätt --delimiter, "
    "eller ingen så avgör trygghet den": (
        "the header row has only one field with the delimiter {} but contains {} {}: the wrong delimiter? Give the "
        "right --delimiter, or none and trygghet decides it"
    ),
    "innehåller NUL-byte (0x00) och är inte en textfil i {}; är det en binär fil med CSV-namn, eller är "
    "teckenkodningen fel?": (
        "contains NUL bytes (0x00) and is not a text file in {}; is it a binary file with a CSV name, or is the "
        "encoding wrong?"
    ),
    "har {} fält där rubrikraden har {} ({} än rubrikraden, avgränsare {}); filen kan vara avkortad, ha blandade "
    "avgränsare, eller ett fält med avgränsaren i sig utan citattecken": (
        "has {} fields where the header row has {} ({} than the header row, delimiter {}); the file may be "
        "truncated, have mixed delimiters, or a field containing the delimiter without quotes"
    ),
    "kan inte tolkas som CSV (ett citattecken som inte stängs eller en trasig rad; är filen avkortad?)": (
        "cannot be parsed as CSV (a quote that is not closed or a broken row; is the file truncated?)"
    ),
    'ett citattecken (") öppnar ett fält som aldrig stängs rätt: {}. Hämta eller exportera filen igen': (
        'a quote (") opens a field that is never closed properly: {}. Fetch or export the file again'
    ),
    "fältet fortsätter till filens slut. Filen verkar avkortad mitt i ett fält inom citattecken (t.ex. en "
    "kommentar); den sista hela raden är rad {}": (
        "the field runs to the end of the file. The file seems truncated in the middle of a quoted field (e.g. a "
        "comment); the last whole row is row {}"
    ),
    "fältet fortsätter över flera rader tills nästa citattecken. Ett citattecken saknas eller är för mycket": (
        "the field runs over several rows until the next quote. A quote is missing or one too many"
    ),
    "fler": "more",
    "färre": "fewer",
    "kolumnen har Parquet-typen {}, som inte är text eller tal; trygghet läser bara kolumner med text, heltal, "
    "decimaltal, sant/falskt eller datum": (
        "the column has the Parquet type {}, which is neither text nor number; trygghet reads only columns of text, "
        "integers, decimals, true/false or dates"
    ),
    "fält {}": "field {}",
    # --- synth (survey/data/synth.py) ---------------------------------------------------------------------------
    "synth: antal svarande, områden och år måste vara minst 1 (fick --n {}, --districts {}, --years {})": (
        "synth: the numbers of respondents, districts and years must be at least 1 (got --n {}, --districts {}, "
        "--years {})"
    ),
    "synth: --n {} är för litet för {} år × {} områden: varje år och område behöver minst {} svarande för att "
    "kalibreringen ska gå att lösa": (
        "synth: --n {} is too small for {} years × {} districts: every year and district needs at least {} "
        "respondents for the calibration to be solvable"
    ),
    # --- row checks (survey/data/validate.py) -------------------------------------------------------------------
    "ett heltal": "an integer",
    "ett ändligt tal": "a finite number",
    "{} är inte {}": "{} is not {}",
    "design_weight är tomt fast andra rader har en vikt": "design_weight is empty although other rows have a weight",
    "har inte den kanoniska formen ({}); det är ett fel i trygghets konvertering, rapportera det tillsammans med "
    "filen": (
        "does not have the canonical form ({}); that is a bug in trygghet's conversion, please report it together "
        "with the file"
    ),
    "design_weight {} är orimligt stor (största tillåtna designvikt är {})": (
        "design_weight {} is implausibly large (the largest design weight allowed is {})"
    ),
    "population {} är negativ": "population {} is negative",
    "population {} är orimligt stor för en cell (över 20 000 000)": (
        "population {} is implausibly large for a cell (over 20,000,000)"
    ),
    "samma ({}) finns på mer än en rad": "the same ({}) occurs on more than one row",
    "{} klarar inte kontrollen {}": "{} fails the check {}",
    "{} är inte en giltig kod för {} ({})": "{} is not a valid code for {} ({})",
    "{} innehåller ett osynligt tecken eller styrtecken (U+{}) som kan dölja eller vända text i rapporter": (
        "{} contains an invisible or control character (U+{}) that can hide or reverse text in reports"
    ),
    "{} är {} tecken långt (högst {})": "{} is {} characters long (at most {})",
    "{} {} är reserverat: {} är raden för alla områden tillsammans och '<område>{}' en modellskattning; byt namn "
    "på området i båda filerna": (
        "{} {} is reserved: {} is the row of all districts together and '<district>{}' a model estimate; rename "
        "the district in both files"
    ),
    "designvikterna år {} spänner från {} (rad {}) till {} (rad {}): kvoten {} är större än gränsen {}. Så olika "
    "designvikter ger ingen rimlig skattning; oftast är några vikter i en annan enhet eller exporten trasig. Rätta "
    "vikterna, eller ta bort kolumnen design_weight så att trygghet använder N_h / n_h": (
        "the design weights of year {} range from {} (row {}) to {} (row {}): the ratio {} is larger than the limit "
        "{}. Design weights this different give no sensible estimate; usually some weights are in another unit or "
        "the export is broken. Correct the weights, or remove the column design_weight so that trygghet uses "
        "N_h / n_h"
    ),
    "design_weight {} är större än hela befolkningen i {} år {} ({} enligt {}); en designvikt är 1 / "
    "urvalssannolikheten och kan inte vara större": (
        "design_weight {} is larger than the whole population of {} in year {} ({} according to {}); a design "
        "weight is 1 / the selection probability and cannot be larger"
    ),
    "SPSS-etiketten för kod {} i kolumnen {} är {}, men i kodboken {} betyder {} {} och {} är kod {}: koderna skulle "
    "läsas fel. Rätta etiketterna eller koda om kolumnen i en leverantörsmappning (recode)": (
        "the SPSS label of code {} in the column {} is {}, but in the codebook {} {} means {} and {} is code {}: the "
        "codes would be read wrongly. Correct the labels or recode the column in a vendor mapping (recode)"
    ),
    "(ingen kod)": "(no code)",
    "{} rad {}, kolumn {}: {}": "{} row {}, column {}: {}",
    "vågen avvisas: {} av {} rader ({}) klarade inte radkontrollerna, fler än de {} som tillåts (--max-bad-share). "
    "Fel per kontroll och kolumn: {}. Första exemplen: {}.": (
        "the wave is rejected: {} of {} rows ({}) failed the row checks, more than the {} allowed (--max-bad-share). "
        "Failures by check and column: {}. First examples: {}."
    ),
    "{} i {}": "{} in {}",
}
