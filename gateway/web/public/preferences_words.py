"""What the preference page says, in English and Spanish: short sentences for a phone screen.
(The categories' own names come from keywords.yml, the disclosures too.)"""

from __future__ import annotations

LANGUAGES = ("en", "es")

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Your texts from {program}",
        "phone": "For the phone number ending in {last4}.",
        "receiving": "You receive these.",
        "not_receiving": "You do not receive these.",
        "stop": "Stop {label}",
        "start_heading": "Start {label} again",
        "start_heading_new": "Receive {label}",
        "read": "Read this, then tick the box to agree:",
        "agree": "I agree to the text above",
        "start": "Start {label}",
        "carrier": "If you texted STOP to us, also text START to our number: until then your "
        "phone company holds back our texts.",
        "stopped": "Done: you will no longer receive {label}.",
        "started": "Done: you will receive {label}.",
        "must_tick": "Nothing was changed: tick the box to agree first.",
        "changed": "The text to agree to has just changed: nothing was changed. Read it again "
        "below.",
        "refused": "That could not be recorded: {why}",
        "expires": "This link works until {date}. Text HELP to our number for a new one.",
        "other_language": "Español",
        "other_language_code": "es",
        "gone_title": "This link has expired",
        "gone": "Links in our texts work for a few days only. Text HELP to our number and the "
        "reply brings a new one.",
        "forged_title": "This link does not work",
        "forged": "Check that the whole link was opened, or text HELP to our number for a new one.",
        "busy_title": "Too many tries",
        "busy": "Wait a minute, then try again.",
        "expired_form_title": "This page has expired",
        "expired_form": "Go back, reload the page and try again.",
        "unreadable_title": "That cannot be read",
        "unreadable": "Go back and try again.",
    },
    "es": {
        "title": "Sus mensajes de {program}",
        "phone": "Para el número de teléfono que termina en {last4}.",
        "receiving": "Los recibe.",
        "not_receiving": "No los recibe.",
        "stop": "Dejar de recibir {label}",
        "start_heading": "Volver a recibir {label}",
        "start_heading_new": "Recibir {label}",
        "read": "Lea esto y marque la casilla para aceptar:",
        "agree": "Acepto el texto de arriba",
        "start": "Recibir {label}",
        "carrier": "Si nos envió PARAR, envíe también COMENZAR a nuestro número: hasta entonces "
        "su compañía telefónica retiene nuestros mensajes.",
        "stopped": "Listo: ya no recibirá {label}.",
        "started": "Listo: recibirá {label}.",
        "must_tick": "No se cambió nada: primero marque la casilla para aceptar.",
        "changed": "El texto para aceptar acaba de cambiar: no se cambió nada. Léalo de nuevo "
        "abajo.",
        "refused": "No se pudo registrar: {why}",
        "expires": "Este enlace funciona hasta el {date}. Envíe AYUDA a nuestro número para "
        "recibir uno nuevo.",
        "other_language": "English",
        "other_language_code": "en",
        "gone_title": "Este enlace ha vencido",
        "gone": "Los enlaces de nuestros mensajes funcionan solo unos días. Envíe AYUDA a "
        "nuestro número y la respuesta trae uno nuevo.",
        "forged_title": "Este enlace no funciona",
        "forged": "Compruebe que abrió el enlace completo, o envíe AYUDA a nuestro número para "
        "recibir uno nuevo.",
        "busy_title": "Demasiados intentos",
        "busy": "Espere un minuto y vuelva a intentarlo.",
        "expired_form_title": "Esta página ha vencido",
        "expired_form": "Vuelva atrás, recargue la página e inténtelo de nuevo.",
        "unreadable_title": "No se puede leer",
        "unreadable": "Vuelva atrás e inténtelo de nuevo.",
    },
}
