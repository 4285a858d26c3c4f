"""The pure job model: data plus transition rules, no I/O."""
