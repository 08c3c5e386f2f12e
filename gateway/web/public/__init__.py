"""Pages for patients rather than staff: in dev mode, the patient simulator."""
