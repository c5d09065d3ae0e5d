"""The crisis-room page: its own web app, served by ``flarewatch web`` and by ``demo``/``up``."""
