# shellcheck shell=bash disable=SC2154 # work, project, probe_unit: test-container's
# The VM tier of scripts/test-container (sourced by it when APPATTACH_VM_TIER=1; not run on its
# own). It uses test-container's helpers (booting, tb) and the harness's (check, stage_begin,
# stage_end, $work), and runs after the container tier has stopped. What it adds, because the
# container cannot have it:
#   * the share mounted with kernel cifs (a systemd mount unit, vers=3.1.1), as in production;
#   * a GPT disk image with an EROFS partition at 1 MiB (msixmgr's VHD/VHDX layout), attached
#     with partition scanning so /dev/loopNp1 appears, mounted and read back;
#   * the probe unit and real ssh sign-ins of alice and bob on a full system with its own kernel.

# make_partitioned_image: test.gpt, one GPT partition at 1 MiB holding the EROFS image.
make_partitioned_image() {
  local fs=$work/test.erofs size
  [[ -f $fs ]] || { echo "no EROFS image from the container tier"; return 1; }
  size=$(stat -c %s "$fs")
  local mib=$(((size + 1048575) / 1048576))
  truncate -s $(((mib + 2) * 1048576)) "$work/test.gpt"
  printf 'label: gpt\nstart=2048, size=%d, type=linux, name=appattach\n' $((mib * 2048)) | sfdisk -q "$work/test.gpt"
  dd if="$fs" of="$work/test.gpt" bs=1M seek=1 conv=notrunc status=none
  sfdisk -d "$work/test.gpt"
}

vm_probe_ready() {
  tb vm copy-in "$project/systemd/$probe_unit" "/etc/systemd/system/$probe_unit"
  tb vm exec "systemctl daemon-reload && systemctl start $probe_unit"
  local i
  for ((i = 0; i < 60; i++)); do
    tb vm exec "journalctl -u $probe_unit -o cat" | has 'The name org.freedesktop.login1 is owned by' && return 0
    sleep 0.5
  done
  return 1
}

# vm_sign_in_out USER: a whole ssh session; its id is kept in $work/vm-sessions-USER.
vm_sign_in_out() {
  local user=$1 out id class
  # shellcheck disable=SC2016 # expanded in the user's session
  out=$(tb vm login "$user" 'echo "$XDG_SESSION_ID $(loginctl show-session "$XDG_SESSION_ID" -p Class --value)"')
  read -r id class <<<"$out"
  echo "session '$id' class '$class'"
  [[ -n $id && $class == user ]]
  echo "$id" >>"$work/vm-sessions-$user"
}

# vm_saw SIGNAL USER: the probe's journal in the VM has SIGNAL for the user's uid or each session.
vm_saw() {
  local signal=$1 user=$2 uid pattern patterns=() i ok
  uid=$(tb vm exec "id -u $user")
  case $signal in
  User*) patterns=("Manager.$signal (uint32 $uid,") ;;
  *) for i in $(cat "$work/vm-sessions-$user" 2>/dev/null); do patterns+=("Manager.$signal ('$i',"); done ;;
  esac
  ((${#patterns[@]})) || { echo "no sessions recorded for $user"; return 1; }
  for ((i = 0; i < 40; i++)); do
    ok=1
    local journal
    journal=$(tb vm exec "journalctl -u $probe_unit -o cat")
    for pattern in "${patterns[@]}"; do grep -qF "$pattern" <<<"$journal" || ok=0; done
    ((ok)) && return 0
    sleep 0.5
  done
  printf 'missing one of: %s\n' "${patterns[@]}"
  grep -v PropertiesChanged <<<"$journal" | tail -n 20
  return 1
}

# vm_stage_read_release IMAGE FSTYPE [PARTSCAN]: attach from the cifs share read-only (with
# partition scanning for a partitioned image), mount ro, compare content, release.
vm_stage_read_release() {
  local img=$1 fstype=$2 partscan=${3:-}
  tb vm copy-in "$work/expected.sha256" /run/appattach-test/expected.sha256
  tb vm exec "bash -s -- /srv/appattach-share/$img $fstype $partscan" <<'EOF'
set -euo pipefail
image=$1 fstype=$2 partscan=${3:-} mnt=/run/appattach-test/mnt
mkdir -p "$mnt"
if [[ -n $partscan ]]; then dev=$(losetup --find --show --read-only --partscan "$image"); else dev=$(losetup --find --show --read-only "$image"); fi
echo "attached $image on $dev"
trap 'umount "$mnt" 2>/dev/null || true; losetup -d "$dev" 2>/dev/null || true' EXIT
src=$dev
if [[ -n $partscan ]]; then
  udevadm settle
  src=${dev}p1
  [[ -b $src ]] || { echo "no $src after partition scan"; lsblk "$dev"; exit 1; }
  echo "partition: $(lsblk -no NAME,SIZE,PARTLABEL "$src")"
fi
mount -t "$fstype" -o ro,nosuid,nodev "$src" "$mnt"
cat "$mnt/hello.txt"
(cd "$mnt" && sha256sum -c /run/appattach-test/expected.sha256)
umount "$mnt"
losetup -d "$dev"
trap - EXIT
for _ in $(seq 50); do [[ -z $(losetup -j "$image") ]] && exit 0; sleep 0.1; done
echo "still attached: $(losetup -j "$image")"; exit 1
EOF
}

vm_share_is_cifs() {
  tb vm exec 'findmnt -no FSTYPE,OPTIONS /srv/appattach-share' | tee /dev/stderr | grep -E '^cifs .*vers=3\.1\.1'
}

run_vm_tier() {
  stage_begin
  tb vm build >"$work/check.out" 2>&1 || give_up "build the VM image"
  stage_end "vm build"

  stage_begin
  booting "vm stop"
  tb vm boot >"$work/check.out" 2>&1 || give_up "boot the VM and mount the share with kernel cifs"
  check "vm: booted (qemu $(tb vm exec 'uname -r')), share at /srv/appattach-share is kernel cifs, vers=3.1.1" \
    vm_share_is_cifs
  stage_end "vm boot"

  stage_begin
  check "vm: $probe_unit installed, started and subscribed to logind" vm_probe_ready
  local user signal
  for user in alice bob; do
    check "vm: $user signs in and out over ssh (class user)" vm_sign_in_out "$user"
  done
  for user in alice bob; do
    for signal in SessionNew SessionRemoved UserNew UserRemoved; do
      check "vm journal: $probe_unit saw $signal for $user" vm_saw "$signal" "$user"
    done
  done
  stage_end "vm sign-ins"

  stage_begin
  check "vm: make a GPT disk image with the EROFS image as partition 1 at 1 MiB" make_partitioned_image
  local img
  for img in test.ext4 test.gpt; do
    check "vm: upload $img to the share over SMB 3" tb share-put "$work/$img" "$img"
  done
  check "vm: stage test.ext4 from the cifs share: loop ro, mount ro, content matches, released" \
    vm_stage_read_release test.ext4 ext4
  check "vm: stage test.gpt with partition scanning: loopNp1 appears, EROFS mounts ro, content matches" \
    vm_stage_read_release test.gpt erofs partscan
  stage_end "vm share"
}
