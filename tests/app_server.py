"""The real app on 127.0.0.1 with a given presets file, for the app tests here and in tests/vllm."""

import os


def launch(preset: str, presets_file: str):
    import app

    previous = os.environ.get("GSI_PRESETS_FILE")
    os.environ["GSI_PRESETS_FILE"] = presets_file
    try:
        demo = app.build_demo(preset)
    finally:
        os.environ.pop("GSI_PRESETS_FILE") if previous is None else os.environ.update(GSI_PRESETS_FILE=previous)
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True, css=app.CSS)
    return demo
