"""A script that builds no model or function (the CLI must say so)."""
print("nothing to see here")
