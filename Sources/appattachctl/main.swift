print("appattachctl")
