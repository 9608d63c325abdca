# toml-manual.awk: a manual page (man(7) macros) from one of the project's commented TOML
# files, so that the manual says what the sample file says and cannot drift from it.
#
#   awk -v name=appattach.toml -v section=5 -v date=2026-12-07 -v version=0.1.0 \
#       -v summary="…" -v synopsis=/etc/appattach/appattach.toml -v mode=keys \
#       -f scripts/lib/toml-manual.awk config/appattach.toml
#
# The file's first comment block becomes DESCRIPTION. Then, with mode=keys (appattach.toml):
# each [table] a subsection, each key a tagged paragraph headed by its sample line and
# explained by the comment block above it. With mode=example (a host-pool file): the rest of
# the file, comments and tables, as an example shown verbatim. In comment text, lines indented
# by two spaces or more after the "#" are shown verbatim (commands, lists); the others are
# filled as paragraphs, a lone "#" separating paragraphs.

function esc(s) {
    gsub(/\\/, "\\e", s)
    if (s ~ /^[.']/) s = "\\&" s
    return s
}
function flush_text(   i, line, verbatim) {
    verbatim = 0
    for (i = 1; i <= n; i++) {
        line = text[i]
        if (line == "") {
            if (verbatim) { print ".fi"; verbatim = 0 }
            print ".PP"
            continue
        }
        if (line ~ /^  /) {
            if (!verbatim) { print ".nf"; verbatim = 1 }
            print esc(line)
        } else {
            if (verbatim) { print ".fi"; verbatim = 0 }
            print esc(line)
        }
    }
    if (verbatim) print ".fi"
    n = 0
}
BEGIN {
    upper = toupper(name)
    printf ".TH \"%s\" \"%s\" \"%s\" \"appattach %s\" \"appattach\"\n", upper, section, date, version
    print ".SH NAME"
    printf "%s \\- %s\n", name, summary
    print ".SH SYNOPSIS"
    print esc(synopsis)
    print ".SH DESCRIPTION"
    n = 0; header = 1; example = 0
}
# The header: the first comment block, up to the first line that is not a comment.
header && /^#/ {
    line = $0
    sub(/^# ?/, "", line)
    # The file's own first line names it ("<path>: what it is"): the synopsis says that.
    if (NR == 1) next
    text[++n] = line
    next
}
header {
    flush_text()
    header = 0
    if (mode == "example") { print ".SH EXAMPLE"; print ".nf"; example = 1 }
    else print ".SH KEYS"
}
example { print esc($0); next }
/^#/ {
    line = $0
    sub(/^# ?/, "", line)
    text[++n] = line
    next
}
/^\[[^\]]+\]$/ {
    printf ".SS \"%s\"\n", $0
    flush_text()
    next
}
/^[A-Za-z_]+ *=/ {
    print ".TP"
    printf "\\fB%s\\fR\n", esc($0)
    flush_text()
    next
}
/^$/ { next }
END {
    if (example) print ".fi"
    if (files != "") { print ".SH FILES"; print esc(files) }
    if (see != "") { print ".SH SEE ALSO"; print see }
}
