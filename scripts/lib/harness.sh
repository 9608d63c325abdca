# shellcheck shell=bash
# The shared harness of the shell test tiers (scripts/test-logind, test-container, test-agent):
# sourced, never run. One way to check, count, time, skip, give up and clean up, and one closing
# line, so every tier reports the same way and scripts/test can add them up.
#
#   harness_start NAME     a work directory ($work), counters, the closing trap; call it first
#   check TEXT CMD...      run CMD in a subshell with errexit in force: every step of a check
#                          function counts, and PASS or FAIL (with CMD's output) is printed
#   pass TEXT / fail TEXT  count a result by hand
#   skip TEXT              the tier cannot run here: SKIP, counted, and the tier ends
#   give_up TEXT           a setup step failed (its output in $work/check.out): FAIL, tier ends
#   at_exit CMD...         run CMD when the tier ends, however it ends (the last one first)
#   stage_begin / stage_end NAME   time a stage; the table is printed at the end
#   has [GREP-ARGS] PATTERN  true if a line of stdin matches: grep that reads all of its input
#                          (`cmd | grep -q` stops reading at the first match, and under pipefail
#                          the writer's SIGPIPE then fails the pipeline, the more so the more
#                          it writes: a journal, say)
#   message_id EVENT       the journal MESSAGE_ID of an AgentEvent case (imageStaged, …), read
#                          from systemd/appattach.catalog
#   build_static PRODUCT…  swift build the products with the Swift runtime linked in
#                          (.build-static/debug); the build's own errors are printed if it fails
#
# The last line a tier prints is "N passed, N failed", with ", N skipped" when something was
# skipped; if APPATTACH_TIER_RESULT names a file, the three numbers are also written there
# ("passed failed skipped"), for scripts/test. Exit status: 0 when nothing failed.
#
# About errexit: bash ignores `set -e` in anything run as an `if`/`while` condition or as an
# operand of `&&`, `||` or `!`, in every function and subshell below it, even where a subshell
# sets -e again. So `check` must be a command of its own; called from such a place it fails
# loudly instead of passing a check whose middle step failed. Inside a check function, `! cmd`
# and `a && b` do not stop it either: write `! cmd || return 1`.

harness_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
harness_project=$(dirname "$(dirname "$harness_lib")")

harness_start() {
  harness_name=$1
  work=$(mktemp -d "${TMPDIR:-/tmp}/appattach-tier-$harness_name.XXXXXX")
  passed=0 failed=0 skipped=0
  harness_exits=()
  stage_names=() stage_secs=()
  harness_finished=0
  # fds 3 and 4 keep the real stdout and stderr: a signal can arrive while a check's output goes
  # to a file, and the closing lines must reach the terminal all the same.
  exec 3>&1 4>&2
  trap harness_finish EXIT
  trap 'exit 130' INT TERM HUP
}

now_s() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }'; }
log() { printf '  %s\n' "$*"; }

# harness_prefix: put before every PASS/FAIL/SKIP text (a tier run on another machine, "vm: ").
pass() { printf 'PASS: %s%s\n' "${harness_prefix:-}" "$1"; passed=$((passed + 1)); }
fail() {
  printf 'FAIL: %s%s\n' "${harness_prefix:-}" "$1"
  failed=$((failed + 1))
  [[ -s $work/check.out ]] && sed 's/^/      | /' "$work/check.out" | tail -n "${HARNESS_FAIL_LINES:-30}"
  return 0
}

check() {
  # Locals are named for the harness: a check function sees every caller's local (bash scopes
  # dynamically), so a plain name here would hide the tier's own variable of that name.
  local harness_what=$1 harness_rc harness_probe harness_errexit=$-
  shift
  # Does bash ignore errexit here (see the header)? Asked inline: a function asked in an `if`
  # would itself run where errexit is ignored.
  set +e
  harness_probe=$(set -e; false; echo ignored)
  if [[ $harness_probe == ignored ]]; then
    : >"$work/check.out"
    fail "$harness_what (check was called inside a condition, where bash ignores errexit: not run)"
    [[ $harness_errexit == *e* ]] && set -e
    return 0
  fi
  (set -e; "$@") >"$work/check.out" 2>&1
  harness_rc=$?
  [[ $harness_errexit == *e* ]] && set -e
  if ((harness_rc == 0)); then pass "$harness_what"; else fail "$harness_what"; fi
  : >"$work/check.out"
  # For a tier whose next check needs this one: ((last_check_passed)) || return.
  # shellcheck disable=SC2034 # read by the tiers
  last_check_passed=$((harness_rc == 0))
}

skip() {
  printf 'SKIP: %s%s\n' "${harness_prefix:-}" "$1"
  skipped=$((skipped + 1))
  exit 0
}

give_up() {
  fail "$1"
  exit 3
}

at_exit() {
  local harness_q
  printf -v harness_q '%q ' "$@"
  harness_exits+=("$harness_q")
}

stage_begin() { stage_t0=$(now_s); }
stage_end() {
  stage_names+=("$1")
  stage_secs+=("$(elapsed "$stage_t0")")
  printf -- '-- %s: %ss\n' "$1" "${stage_secs[-1]}"
}

has() { grep "$@" >/dev/null; }

message_id() {
  local harness_id
  harness_id=$(awk -v want="$1" '$1 == "#" && $2 == "event:" { ev = $3; next } /^-- / { if (ev == want) { print $2; exit } ev = "" }' \
    "$harness_project/systemd/appattach.catalog")
  [[ -n $harness_id ]] || { echo "message_id: no event '$1' in systemd/appattach.catalog" >&2; return 1; }
  echo "$harness_id"
}

build_static() {
  local harness_product
  # A scratch path of its own: static linking would otherwise invalidate the main build.
  for harness_product in "$@"; do
    # Its status decides, never a binary an earlier build left behind.
    (cd "$harness_project" && swift build --product "$harness_product" --static-swift-stdlib --scratch-path .build-static) ||
      return 1
  done
}

harness_finish() {
  local rc=$? i
  ((harness_finished)) && return 0
  harness_finished=1
  trap - INT TERM HUP
  exec 1>&3 2>&4
  if ((rc != 0 && rc != 3)); then
    printf 'FAIL: the test run aborted (exit status %s)\n' "$rc"
    failed=$((failed + 1))
  fi
  # Not in a condition: a step may be a check, which needs errexit to count.
  set +e
  for ((i = ${#harness_exits[@]} - 1; i >= 0; i--)); do
    eval "${harness_exits[$i]}"
    rc=$?
    set +e
    if ((rc != 0)); then
      printf 'FAIL: cleanup: %s\n' "${harness_exits[$i]}"
      failed=$((failed + 1))
    fi
  done
  rm -rf "$work"
  if ((${#stage_names[@]})); then
    printf '\ntimings:\n'
    for i in "${!stage_names[@]}"; do printf '  %-28s %7ss\n' "${stage_names[$i]}" "${stage_secs[$i]}"; done
  fi
  if [[ -n ${APPATTACH_TIER_RESULT:-} ]]; then
    printf '%s %s %s\n' "$passed" "$failed" "$skipped" >"$APPATTACH_TIER_RESULT"
  fi
  if ((skipped)); then
    printf '%s passed, %s failed, %s skipped\n' "$passed" "$failed" "$skipped"
  else
    printf '%s passed, %s failed\n' "$passed" "$failed"
  fi
  ((failed == 0)) || exit 1
  exit 0
}
