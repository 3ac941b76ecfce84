#!/bin/sh
# The second check of a cell's host mounts: an OCI prestart hook that `runsc run` runs on the host
# after its gofer has mounted the cell's folders and before the workload starts.
#
# prepare (mount-check.ts) resolves each spec.run.mounts[i].source with realpath, checks it against
# the allowlist on an opened descriptor and names the resolved path in the bundle. A folder on that
# path can still be renamed and a symlink put in its place before the gofer mounts it. This hook
# compares the device and inode of what the gofer mounted with those of the folder checked; when
# they differ it fails, runsc tears the container down and the workload never runs.
#
# mount-check.ts puts it in config.json as
#   sh -c "<this file's text>" cellos-mount-check <bundle dir> [<destination> <mountinfo form> <dev:ino>]...
# where the mountinfo form is the destination as /proc/*/mountinfo writes it (space, tab, newline
# and backslash as \ooo). Its parent is the `runsc run` process; the gofer is that process's child
# started with this bundle.
set -u
bundle=$1
shift

# Sets gofer to the pid of this bundle's gofer among our parent's children, or to nothing.
# Builtins only (a fork costs more than the whole walk over /proc).
find_gofer() {
  gofer=''
  for p in /proc/[0-9]*; do
    line=''
    read -r line 2>/dev/null <"$p/stat" || continue
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses, what follows does not.
    rest=${line##*) }
    ppid=${rest#* }
    ppid=${ppid%% *}
    [ "$ppid" = "$PPID" ] || continue
    # The command line with its NUL separators dropped by read:
    # runsc-gofer--root=...gofer--bundle<bundle>--spec-fd=...
    args=''
    read -r args 2>/dev/null <"$p/cmdline" || :
    case $args in
      runsc-gofer*gofer--bundle"$bundle"--* | runsc-gofer*gofer--bundle"$bundle")
        gofer=${p#/proc/}
        return
        ;;
    esac
  done
}

# Whether the gofer $1 has a mount at $2 (mountinfo form).
mounted_at() {
  while read -r _ _ _ _ point _; do
    [ "$point" = "$2" ] && return 0
  done <"/proc/$1/mountinfo"
  return 1
}

# Whether the gofer $1 has made every mount of the remaining arguments.
all_mounted() {
  g=$1
  shift
  while [ $# -ge 3 ]; do
    mounted_at "$g" "$2" || return 1
    shift 3
  done
}

tries=0
while :; do
  find_gofer
  if [ -n "$gofer" ] && all_mounted "$gofer" "$@" 2>/dev/null; then break; fi
  tries=$((tries + 1))
  if [ "$tries" -ge 100 ]; then
    echo "cellos: the host mounts of this cell were not found in runsc's gofer (bundle $bundle); the cell is refused" >&2
    exit 1
  fi
  sleep 0.05
done

while [ $# -ge 3 ]; do
  found=$(stat -c %d:%i -- "/proc/$gofer/root$1" 2>/dev/null) || found=none
  if [ "$found" != "$3" ]; then
    echo "cellos: the host folder mounted at $1 is not the one the host checked (device:inode $found, checked $3): its path changed after the check; the cell is refused" >&2
    exit 1
  fi
  shift 3
done
