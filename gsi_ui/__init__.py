"""The explorer's UI: Gradio tabs over the engine's events (the engine itself is `gsi_core`)."""
