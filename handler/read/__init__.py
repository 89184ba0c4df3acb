"""The read side, shared by the report, sessions and detections: one exact reader (`reader.py`), one definition
of each event class (`events.py`), the filters and periods every read is built from (`queries.py`, `period.py`)."""
