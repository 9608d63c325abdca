# appattach: the staged packages' icons and file types (/run/appattach/share, kept by the
# agent) for the desktop's readers. Appended, once, so that the system's definitions come first.
# Installed as /etc/profile.d/appattach.sh; /usr/lib/environment.d/60-appattach.conf does the
# same for the systemd user manager.
case ":${XDG_DATA_DIRS:-}:" in
*:/run/appattach/share:*) ;;
*) XDG_DATA_DIRS="${XDG_DATA_DIRS:-/usr/local/share:/usr/share}:/run/appattach/share"; export XDG_DATA_DIRS ;;
esac
