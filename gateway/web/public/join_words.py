"""The opt-in form's own words, per language (the disclosures come from keywords.yml).

A language switched on in keywords.yml without words here is shown in English, with its own
disclosures where the file has them."""

from __future__ import annotations

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Get text messages from {program}",
        "intro": "Appointment reminders and messages about your care, by text.",
        "number": "Mobile phone number",
        "number_hint": "A US mobile number, for example (201) 555-0123.",
        "care_heading": "Care messages",
        "care_explained": "Texts about your appointments and care: reminders, changes, "
        "and what to bring. Entering your number agrees to these.",
        "offers_heading": "Offers and health news (optional)",
        "offers_box": "Yes, also send me {label}.",
        "offers_yes": "We will text you to confirm: reply YES to start them.",
        "submit": "Sign up",
        "honeypot": "Leave this field empty",
        "done_title": "Thank you",
        "done_text": "We will text the number ending in {number} to confirm.",
        "done_text_plain": "We will text you to confirm.",
        "done_start": "If you texted STOP to us before, text START to {number} to receive "
        "texts again.",
        "done_start_plain": "If you texted STOP to us before, text START to our number to "
        "receive texts again.",
        "done_pending": "To also get {labels}, reply YES to that text within {hours} hours.",
        "done_stop": "Reply STOP at any time to opt out, HELP for help.",
        "bad_number": "Enter a mobile phone number we can text, for example (201) 555-0123.",
        "not_mobile": "Enter a US mobile number, for example (201) 555-0123. We cannot text "
        "premium-rate or toll-free numbers, or numbers outside the US.",
        "too_many": "Too many sign-ups from here or for this number. "
        "Try again in {minutes} minutes.",
        "too_many_title": "Please wait",
        "expired_title": "This form has expired",
        "expired": "The page was open too long or was not sent from this site. "
        "Load it again and sign up.",
        "again": "Back to the form",
        "language": "Español",
        "refused": "We could not record this sign-up. Please call the clinic.",
        "unavailable": "Signing up by text is not available here.",
    },
    "es": {
        "title": "Reciba mensajes de texto de {program}",
        "intro": "Recordatorios de citas y mensajes sobre su atención, por texto.",
        "number": "Número de teléfono móvil",
        "number_hint": "Un número móvil de EE. UU., por ejemplo (201) 555-0123.",
        "care_heading": "Mensajes de atención",
        "care_explained": "Textos sobre sus citas y su atención: recordatorios, cambios y "
        "qué traer. Al ingresar su número acepta recibirlos.",
        "offers_heading": "Ofertas y noticias de salud (opcional)",
        "offers_box": "Sí, envíenme también {label}.",
        "offers_yes": "Le enviaremos un texto para confirmar: responda SI para empezar.",
        "submit": "Inscribirme",
        "honeypot": "Deje este campo vacío",
        "done_title": "Gracias",
        "done_text": "Le enviaremos un texto al número que termina en {number} para confirmar.",
        "done_text_plain": "Le enviaremos un texto para confirmar.",
        "done_start": "Si antes nos envió PARAR, envíe COMENZAR al {number} para volver a "
        "recibir textos.",
        "done_start_plain": "Si antes nos envió PARAR, envíe COMENZAR a nuestro número para "
        "volver a recibir textos.",
        "done_pending": "Para recibir también {labels}, responda SI a ese texto en las "
        "próximas {hours} horas.",
        "done_stop": "Responda PARAR en cualquier momento para salir, AYUDA para ayuda.",
        "bad_number": "Ingrese un número móvil al que podamos enviar textos, por ejemplo "
        "(201) 555-0123.",
        "not_mobile": "Ingrese un número móvil de EE. UU., por ejemplo (201) 555-0123. No "
        "podemos enviar textos a números de tarifa especial o gratuitos, ni fuera de EE. UU.",
        "too_many": "Demasiadas inscripciones desde aquí o para este número. "
        "Intente de nuevo en {minutes} minutos.",
        "too_many_title": "Espere un momento",
        "expired_title": "Este formulario ha vencido",
        "expired": "La página estuvo abierta demasiado tiempo o no se envió desde este sitio. "
        "Cárguela de nuevo e inscríbase.",
        "again": "Volver al formulario",
        "language": "English",
        "refused": "No pudimos registrar esta inscripción. Llame a la clínica, por favor.",
        "unavailable": "La inscripción por texto no está disponible aquí.",
    },
}


def words(language: str) -> dict[str, str]:
    return WORDS.get(language, WORDS["en"])
