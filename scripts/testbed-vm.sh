# shellcheck shell=bash
# The optional VM tier of scripts/testbed (sourced by it; not run on its own).
#
# The container tier cannot show two things, because they belong to the host kernel: kernel cifs
# (the production way to mount the share) and partition scanning on loop devices (/dev/loopNp1,
# which the agent needs for GPT-partitioned VHD/VHDX images). This tier boots the same Debian
# release as a qemu VM with its own kernel (linux-image-cloud-amd64), so both are real:
#   * the share is mounted with a systemd mount unit, Type=cifs, vers=3.1.1, from the same smbd on
#     the host's 127.0.0.1 (which the guest reaches as 10.0.2.2 through qemu's user network);
#   * `losetup -P` gives /dev/loopNp1 through udev.
# It runs under TCG (software emulation): measured boot to ssh is 40-60 s, cifs reads 15-20 MB/s,
# so keep its images small. KVM is used only if APPATTACH_TESTBED_VM_ACCEL=kvm is set: on nested
# hosts whose /dev/kvm is PVM, stock kernels hang at boot.
#
#   testbed vm build            build the VM image into the cache (mmdebstrap, then mkfs.ext4 -d)
#   testbed vm boot             start smbd if needed, boot the VM (-snapshot: the cached image
#                               stays pristine), wait for ssh, mount the share at /srv/appattach-share
#   testbed vm exec CMD         run a shell command as root in the VM (over ssh)
#   testbed vm login USER [CMD] sign USER in over ssh, run CMD, sign out
#   testbed vm copy-in SRC DEST copy a host file into the VM
#   testbed vm stop             power the VM off (scripts/testbed stop also does this)
# While the VM runs, the instance's ordinary commands (exec, copy-in, install-unit, login,
# session-open/close, journal, loop-nodes) act on it as they act on the container, so a tier
# written for the container runs unchanged on the VM's kernel.
#
# Two sshds run in the VM: the system's, with PAM (pam_systemd, and whatever a test adds to the
# session stack), for users' sign-ins; and one for the harness's root commands without PAM, so
# that they open no logind session a test would see. The harness's connection is shared
# (ControlMaster): one key exchange, then each command costs a channel, not a login.
# Environment: APPATTACH_TESTBED_VM_SSH_PORT (first port to try, default 2223),
# APPATTACH_TESTBED_VM_MEMORY (MiB, default 2048), APPATTACH_TESTBED_VM_ACCEL (default tcg).

readonly VM_EXTRA_PACKAGES=(linux-image-cloud-amd64 initramfs-tools udev kmod cifs-utils)
readonly VM_SHARE_UNIT='srv-appattach\x2dshare.mount'
readonly VM_HARNESS_SSH_PORT=2200   # inside the VM: the harness's sshd, without PAM

# vm_customize ROOT PUBKEY: on top of rootfs_customize, what a VM needs to boot and be reached.
# The ssh key is baked in here (the image is read-only at run time): it is generated at build
# time and kept beside the image in the cache.
vm_customize() {
  local root=$1 pub=$2 user home uid gid
  echo appattach-testbed-vm >"$root/etc/hostname"
  sed -i 's/appattach-testbed$/appattach-testbed-vm/' "$root/etc/hosts"
  echo '/dev/vda / ext4 rw,relatime 0 1' >"$root/etc/fstab"
  mkdir -p "$root/etc/systemd/network"
  printf '[Match]\nName=en*\n[Network]\nDHCP=yes\n' >"$root/etc/systemd/network/20-wired.network"
  chroot "$root" systemctl enable systemd-networkd.service >/dev/null 2>&1
  chroot "$root" systemctl mask systemd-networkd-wait-online.service >/dev/null 2>&1
  while IFS=: read -r user _ uid gid _ home _; do
    case $user in root | alice | bob) ;; *) continue ;; esac
    install -d -m 700 -o "$uid" -g "$gid" "$root$home/.ssh"
    install -m 600 -o "$uid" -g "$gid" "$pub" "$root$home/.ssh/authorized_keys"
  done <"$root/etc/passwd"
  # The harness's sshd: root only, keys only, no PAM (no logind session for its commands).
  cat >"$root/etc/systemd/system/appattach-testbed-harness-sshd.service" <<UNIT
[Unit]
Description=sshd for the test harness's root commands (no PAM, no logind session)
After=network.target ssh.service
[Service]
RuntimeDirectory=sshd
RuntimeDirectoryPreserve=yes
ExecStart=/usr/sbin/sshd -D -p $VM_HARNESS_SSH_PORT -o UsePAM=no -o AllowUsers=root -o PidFile=none
[Install]
WantedBy=multi-user.target
UNIT
  chroot "$root" systemctl enable appattach-testbed-harness-sshd.service >/dev/null 2>&1
  # No autologin on the serial console: a root session there would be a signed-in user to the
  # agent. The console still logs boot and kernel messages (console.log); commands go over ssh.
}

vm_recipe() {
  recipe
  printf 'vm-packages=%s\n' "${VM_EXTRA_PACKAGES[*]}"
  declare -p VM_HARNESS_SSH_PORT
  declare -f vm_customize
}
vm_dir() { echo "$CACHE/vm-$(vm_recipe | sha256sum | cut -c1-16)"; }

vm_build() {
  need_root
  local out hook started
  out=$(vm_dir)
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.lock"
  flock 9
  if [[ -f $out/.appattach-testbed-complete && ${1:-} != --force ]]; then
    say "VM image cached: $out"
    echo "$out"
    return 0
  fi
  rm -rf "$out" "$out.tmp"
  mkdir -p "$out.tmp"
  ssh-keygen -q -t ed25519 -N '' -C appattach-testbed-vm -f "$out.tmp/id_ed25519" </dev/null
  hook=$out.tmp/customize
  {
    echo '#!/bin/bash'
    echo 'set -euo pipefail'
    declare -p VM_HARNESS_SSH_PORT
    declare -f rootfs_customize vm_customize
    # shellcheck disable=SC2016 # "$1" belongs to the hook script
    printf 'rootfs_customize "$1"\nvm_customize "$1" %q\n' "$out.tmp/id_ed25519.pub"
  } >"$hook"
  chmod 755 "$hook"
  say "building VM image ($SUITE) into $out"
  started=$(now_s)
  local IFS=,
  # shellcheck disable=SC2016 # "$1" is expanded by mmdebstrap's hook shell
  mmdebstrap_into "$out.tmp/rootfs" "$CACHE/vm-build.log" "${ROOTFS_PACKAGES[*]},${VM_EXTRA_PACKAGES[*]}" \
    --customize-hook="$hook \"\$1\"" \
    --customize-hook='cp "$1"/boot/vmlinuz-* '"$out.tmp"'/vmlinuz; cp "$1"/boot/initrd.img-* '"$out.tmp"'/initrd.img' ||
    { tail -n 30 "$CACHE/vm-build.log" >&2; rm -rf "$out.tmp"; die "mmdebstrap failed (log: $CACHE/vm-build.log)"; }
  unset IFS
  # No partition table: the kernel boots with root=/dev/vda.
  truncate -s 2G "$out.tmp/root.img"
  mkfs.ext4 -q -F -L root -d "$out.tmp/rootfs" "$out.tmp/root.img"
  rm -rf "$out.tmp/rootfs" "$hook"
  touch "$out.tmp/.appattach-testbed-complete"
  mv "$out.tmp" "$out"
  say "VM image built in $(elapsed "$started")s"
  echo "$out"
}

vm_ssh_opts() {
  printf '%s\n' -i "$(vm_dir)/id_ed25519" -p "$(cat "$RUN/vm/ssh.port")" -o BatchMode=yes \
    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=5
}

# vm_harness_opts: the harness's root commands, through its own sshd, on one shared connection.
vm_harness_opts() {
  printf '%s\n' -i "$(vm_dir)/id_ed25519" -p "$(cat "$RUN/vm/harness.port")" -o BatchMode=yes \
    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=5 \
    -o ControlMaster=auto -o "ControlPath=$RUN/vm/harness.ctl" -o ControlPersist=yes -o ServerAliveInterval=10
}

vm_running() { alive "$(readf "$RUN/vm/qemu.pid")" qemu-system-x86; }
# vm_active: the instance is the VM (`vm boot` ran, and qemu runs).
vm_active() { [[ -d $RUN/vm ]] && vm_running; }

# vm_ssh USER CMD: run the shell command CMD as USER in the VM, signed in through PAM.
vm_ssh() {
  local opts
  mapfile -t opts < <(vm_ssh_opts)
  # shellcheck disable=SC2029 # CMD is meant to be expanded by the remote shell
  ssh "${opts[@]}" "$1@127.0.0.1" "$2"
}

# vm_shell CMD: run the shell command CMD as root in the VM, without a session.
vm_shell() {
  local opts
  mapfile -t opts < <(vm_harness_opts)
  # shellcheck disable=SC2029 # CMD is meant to be expanded by the remote shell
  ssh "${opts[@]}" root@127.0.0.1 "$1"
}

# vm_root CMD [ARGS...]: run CMD with its arguments as root in the VM, without a session; the
# remote shell gets them quoted, so they arrive as they were given.
vm_root() {
  local q
  printf -v q '%q ' "$@"
  vm_shell "$q"
}

vm_boot() {
  need_root
  local dir started i accel=${APPATTACH_TESTBED_VM_ACCEL:-tcg}
  dir=$(vm_dir)
  [[ -f $dir/.appattach-testbed-complete ]] || die "no VM image for this recipe; run: scripts/testbed vm build"
  vm_running && die "the VM of instance $NAME is already running"
  mkdir -p "$RUN/vm"
  if ! alive "$(readf "$RUN/smbd.pid")" smbd; then
    start_smbd
    say "smbd on 127.0.0.1:$(cat "$RUN/smb.port") (pid $(cat "$RUN/smbd.pid"))"
  fi
  free_port "${APPATTACH_TESTBED_VM_SSH_PORT:-2223}" >"$RUN/vm/ssh.port"
  free_port $(($(cat "$RUN/vm/ssh.port") + 1)) >"$RUN/vm/harness.port"
  started=$(now_s)
  # -snapshot: guest writes go to a temporary file, the cached image is never changed.
  setsid qemu-system-x86_64 -accel "$accel" -m "${APPATTACH_TESTBED_VM_MEMORY:-2048}" -smp 2 \
    -display none -monitor none -no-reboot -snapshot \
    -kernel "$dir/vmlinuz" -initrd "$dir/initrd.img" -append "root=/dev/vda rw console=ttyS0 panic=-1" \
    -drive "file=$dir/root.img,format=raw,if=virtio,cache=unsafe" \
    -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$(cat "$RUN/vm/ssh.port")-:22,hostfwd=tcp:127.0.0.1:$(cat "$RUN/vm/harness.port")-:$VM_HARNESS_SSH_PORT" \
    -device virtio-net-pci,netdev=n0 \
    -serial "file:$RUN/vm/console.log" </dev/null >"$RUN/vm/qemu.out" 2>&1 &
  echo $! >"$RUN/vm/qemu.pid"
  for ((i = 0; i < 300; i++)); do
    vm_shell true 2>/dev/null && break
    vm_running || { tail -n 20 "$RUN/vm/console.log" "$RUN/vm/qemu.out" >&2; die "qemu exited during boot"; }
    sleep 1
  done
  vm_shell true || { tail -n 30 "$RUN/vm/console.log" >&2; die "the VM did not answer on ssh"; }
  vm_shell 'systemctl is-system-running --wait' >/dev/null 2>&1 || true
  # Users sign in through the system's sshd: it must answer too.
  for ((i = 0; i < 60; i++)); do
    vm_ssh root true 2>/dev/null && break
    sleep 1
  done
  say "VM up (ssh on 127.0.0.1:$(cat "$RUN/vm/ssh.port")) after $(elapsed "$started")s"

  # The production way: a systemd mount unit with kernel cifs and a credentials file.
  local pass port
  pass=$(cat "$RUN/smb.password")
  port=$(cat "$RUN/smb.port")
  vm_shell "set -e
    install -d -m 700 /etc/appattach-testbed
    umask 077; printf 'username=%s\npassword=%s\n' '$SMB_USER' '$pass' >/etc/appattach-testbed/share.cred
    cat >'/etc/systemd/system/$VM_SHARE_UNIT' <<'EOF'
# The SMB 3 share, mounted as production does it: kernel cifs, read-only, credentials file.
[Unit]
Description=appattach share (kernel cifs)
After=network-online.target
[Mount]
What=//10.0.2.2/$SHARE_NAME
Where=$SHARE_MOUNT
Type=cifs
Options=ro,nosuid,nodev,vers=3.1.1,port=$port,credentials=/etc/appattach-testbed/share.cred
EOF
    systemctl daemon-reload
    systemctl start '$VM_SHARE_UNIT'
    ls '$SHARE_MOUNT' >/dev/null" || die "mounting the share with kernel cifs failed"
  say "share //10.0.2.2:$port/$SHARE_NAME at $SHARE_MOUNT in the VM (kernel cifs)"
}

vm_stop() {
  [[ -d $RUN/vm ]] || return 0
  local pid
  pid=$(readf "$RUN/vm/qemu.pid")
  if vm_running; then
    # A clean poweroff first (the guest has -no-reboot), then by PID.
    vm_shell 'systemctl poweroff' >/dev/null 2>&1 || true
    wait_pid "$pid" qemu-system-x86 60
  fi
  # The shared connection's master ends with the VM; told to, in case it has not yet.
  if [[ -S $RUN/vm/harness.ctl ]]; then
    ssh -o "ControlPath=$RUN/vm/harness.ctl" -O exit root@127.0.0.1 >/dev/null 2>&1 || true
  fi
  rm -rf "$RUN/vm"
}

cmd_vm() {
  local sub=${1:-}
  (($#)) && shift
  case $sub in
  build) vm_build "$@" ;;
  boot) vm_boot "$@" ;;
  exec)
    need_root
    vm_running || die "the VM of instance $NAME is not running"
    vm_shell "$*"
    ;;
  login)
    need_root
    vm_running || die "the VM of instance $NAME is not running"
    vm_ssh "${1:?usage: vm login USER [CMD]}" "${2:-true}"
    ;;
  copy-in)
    need_root
    vm_running || die "the VM of instance $NAME is not running"
    local src=${1:?usage: vm copy-in SRC DEST} dest=${2:?usage: vm copy-in SRC DEST} q
    printf -v q '%q' "$dest"
    vm_shell "mkdir -p \$(dirname $q) && cat >$q.part && mv -f $q.part $q" <"$src"
    ;;
  stop)
    need_root
    vm_stop
    ;;
  *) die "usage: testbed vm build|boot|exec|login|copy-in|stop" ;;
  esac
}
