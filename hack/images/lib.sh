# Sourced by build.sh and load.sh: their progress lines and the images lock.

log() { printf '[images %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# images_lock DIR: holds DIR/.lock (file descriptor 9) until the script exits,
# saying so when another build holds it. build.sh holds it while it builds and
# load.sh while it archives: an image's rootfs is hard links into the base,
# and another build linking or unlinking them changes their ctime under tar.
images_lock() {
  mkdir -p "$1"
  exec 9>"$1/.lock"
  if ! flock -n 9; then
    log "another build holds $1/.lock; waiting ..."
    flock 9
  fi
}
