"""HTTP adapters: Twilio's webhooks, the JSON API and the staff console."""
