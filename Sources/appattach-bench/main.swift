print("appattach-bench")
