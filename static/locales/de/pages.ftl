# Onramps Seiten auf Deutsch. Fehlt hier eine Nachricht, gilt die englische.

brand = Onramp
skip-to-content = Zum Inhalt springen

## Anmeldung
signin-title = Anmelden
signin-to-app = weiter zu { $app }
signin-username = Benutzername
signin-next = Weiter
signin-or = oder
signin-with-passkey = Mit einem Passkey anmelden
signin-help = Neu hier oder Gerät verloren? Verwenden Sie den Benutzernamen und den befristeten Zugriffspass, den Sie von Ihrer Administration bekommen haben.
signin-enter-username = Geben Sie Ihren Benutzernamen ein, z. B. name@example.com.
signin-other-account = Die Anwendung hat nach einem anderen Konto gefragt als dem, mit dem Sie angemeldet sind. Melden Sie sich mit dem Konto an, das die Anwendung erwartet.

## Befristeter Zugriffspass
tap-title = Befristeten Zugriffspass eingeben
tap-signing-in-as = Anmeldung als { $user }.
tap-not-you = Nicht Sie?
tap-label = Befristeter Zugriffspass
tap-help = Groß- und Kleinschreibung, Leerzeichen und Bindestriche spielen keine Rolle.
tap-submit = Anmelden
tap-wrong = Benutzername und befristeter Zugriffspass passen nicht zusammen. Prüfen Sie den Pass und versuchen Sie es noch einmal.
tap-locked = Zu viele Fehlversuche. Versuchen Sie es in { $wait } noch einmal.
wait-minutes = { $n ->
    [one] 1 Minute
   *[other] { $n } Minuten
}
wait-hours = { $n ->
    [one] 1 Stunde
   *[other] { $n } Stunden
}
tap-busy = Onramp ist gerade ausgelastet. Warten Sie einen Moment und versuchen Sie es dann noch einmal.
tap-not-yet-valid = Dieser befristete Zugriffspass gilt noch nicht. Er gilt ab
tap-expired = Dieser befristete Zugriffspass ist abgelaufen. Bitten Sie Ihre Administration um einen neuen.
tap-used = Dieser einmalige befristete Zugriffspass wurde schon verwendet. Bitten Sie Ihre Administration um einen neuen.
tap-disabled = Die Anmeldung mit einem befristeten Zugriffspass ist für Ihr Konto abgeschaltet.
account-disabled = Ihr Konto ist deaktiviert. Wenden Sie sich an Ihre Administration.

## Einrichtung
enroll-title = Passkey einrichten
enroll-intro = Mit einem Passkey melden Sie sich per Fingerabdruck, Gesicht oder Geräte-PIN an: nichts zu tippen, nichts abzufischen.
enroll-left = Sie haben noch { $minutes ->
    [one] 1 Minute
   *[other] { $minutes } Minuten
}, um ihn einzurichten.
enroll-create = Passkey erstellen
enroll-needs-script = Zum Erstellen eines Passkeys wird JavaScript benötigt.
enroll-skip = Überspringen: Ich habe schon einen Passkey
enroll-lost-title = Handy oder Sicherheitsschlüssel verloren?
enroll-lost-help = Entfernen Sie den Passkey, den Sie nicht mehr haben, und richten Sie oben einen neuen ein.
enroll-remove = „{ $name }“ entfernen …
enroll-removed = Der Passkey wurde entfernt. Richten Sie jetzt einen neuen ein.
enroll-gone = Diesen Passkey gibt es nicht mehr.
enroll-remove-title = Passkey entfernen
enroll-remove-detail = „{ $name }“ entfernen? Damit kann sich niemand mehr anmelden: Tun Sie das, wenn das Gerät verloren ist oder Ihnen nicht mehr gehört.
enroll-remove-button = Passkey entfernen
window-over-title = Die Zeit zum Einrichten eines Passkeys ist abgelaufen
window-over-detail = Zu Ihrer Sicherheit lässt sich ein Passkey nur kurz nach der Anmeldung mit einem befristeten Zugriffspass einrichten. Melden Sie sich noch einmal mit Ihrem Pass an oder bitten Sie Ihre Administration um einen neuen.
sign-in-again = Erneut anmelden

## Passkeys in Listen
passkey-synced = Synchronisierter Passkey
passkey-device-bound = Gerätegebundener Passkey
passkey-added = hinzugefügt
passkey-last-used = zuletzt verwendet
passkey-never-used = noch nie zur Anmeldung verwendet

## Fertig
all-set-title = Alles erledigt
all-set-ready = Ihr Passkey ist bereit. Den befristeten Zugriffspass brauchen Sie nicht mehr.
all-set-how = Melden Sie sich ab jetzt mit Ihrem Passkey an: Wählen Sie auf der Anmeldeseite „Mit einem Passkey anmelden“ (oder wählen Sie ihn aus, wenn Sie Ihren Benutzernamen eingeben) und verwenden Sie Fingerabdruck, Gesicht oder Geräte-PIN.
all-set-continue = Weiter zu { $app }
all-set-security-info = Zu Ihren Sicherheitsinformationen

## Abmelden
logout-title = Abmelden?
logout-asked-by = { $app } möchte Sie von Onramp abmelden.
logout-this-browser = Sie werden in diesem Browser von Onramp abgemeldet.
logout-button = Abmelden
signed-out-title = Sie sind abgemeldet
signed-out-detail = Sie wurden in diesem Browser von Onramp abgemeldet. Schließen Sie an einem gemeinsam genutzten Computer sicherheitshalber auch den Browser.
logout-invalid = Dieser Abmeldelink ist ungültig

## Sicherheitsinformationen
account-title = Sicherheitsinformationen
account-signed-in-as = Angemeldet als { $user }.
account-passkeys = Passkeys
account-no-passkey = Sie haben keinen Passkey. Fügen Sie jetzt einen hinzu: Ohne ihn brauchen Sie zur Anmeldung einen neuen befristeten Zugriffspass.
account-name = Name
account-rename = Umbenennen
account-delete = „{ $name }“ löschen …
account-add = Passkey hinzufügen
account-add-later = Um einen Passkey hinzuzufügen, melden Sie sich erneut mit einem Passkey oder einem befristeten Zugriffspass an; in den 15 Minuten danach können Sie einen hinzufügen.
account-tap = Befristeter Zugriffspass
account-tap-valid-until = Gültig bis
account-tap-valid-from = Gültig von
account-tap-to = bis
account-tap-expired-at = Abgelaufen am
account-tap-used = Schon verwendet (einmaliger Pass).
account-tap-turned-off = Nicht verwendbar: durch Richtlinie abgeschaltet.
account-tap-delete = Meinen befristeten Zugriffspass löschen …
account-no-tap = Sie haben keinen befristeten Zugriffspass.
account-sign-out = Abmelden
account-renamed = Der Passkey wurde umbenannt.
account-deleted = Der Passkey wurde gelöscht.
account-tap-deleted = Ihr befristeter Zugriffspass wurde gelöscht.
account-gone = Diesen Eintrag gibt es nicht mehr.
confirm-cancel = Abbrechen
account-delete-title = Passkey löschen
account-delete-button = Passkey löschen
account-tap-delete-title = Befristeten Zugriffspass löschen
account-tap-delete-detail = Danach lässt sich der Pass nicht mehr zur Anmeldung verwenden.
account-tap-delete-button = Pass löschen

## Startseite
home-title = Willkommen
home-intro = Dies ist der Anmeldedienst Ihrer Organisation. Anwendungen schicken Sie zur Anmeldung hierher; Sie müssen sich diese Seite nicht merken.
home-sign-in = Anmelden
home-sign-in-how = mit Ihrem Passkey oder mit einem befristeten Zugriffspass Ihrer Administration.
home-security-info = Sicherheitsinformationen
home-security-info-how = Ihre Passkeys ansehen und verwalten.
home-admin = Verwaltungsportal
home-admin-how = für Administratorinnen und Administratoren.

## Fehlerseiten
error-signin-expired = Diese Anmeldung ist abgelaufen
error-signin-expired-detail = Die Anmeldeanfrage gilt nicht mehr. Gehen Sie zurück zur Anwendung und beginnen Sie von vorn.
error-access-denied = Zugriff verweigert
error-not-allowed = Nicht erlaubt
error-check-input = Bitte prüfen Sie Ihre Eingabe
error-try-again = Bitte versuchen Sie es noch einmal
error-unavailable = Vorübergehend nicht verfügbar
error-signin-unavailable = Die Anmeldung ist gerade kurz nicht verfügbar. Bitte versuchen Sie es gleich noch einmal.
error-try-shortly = Bitte versuchen Sie es gleich noch einmal.
error-went-wrong = Etwas ist schiefgegangen
error-try-again-detail = Bitte versuchen Sie es noch einmal.
error-csrf = Dieses Formular ist abgelaufen oder kam von woanders. Gehen Sie zurück, laden Sie die Seite neu und versuchen Sie es noch einmal.
error-back = Zurück
error-form-unreadable = Dieses Formular konnte nicht gelesen werden

## Das Seitenskript
js-registration-duplicate = Dieses Gerät hat schon einen Passkey für Ihr Konto. Melden Sie sich damit an oder fügen Sie einen Passkey auf einem anderen Gerät oder Sicherheitsschlüssel hinzu.
js-registration-cancelled = Der Passkey wurde nicht erstellt: Die Abfrage wurde geschlossen oder ist abgelaufen. Versuchen Sie es noch einmal, wenn Sie bereit sind.
js-registration-unsupported = Dieser Browser oder dieses Gerät kann keinen Passkey erstellen. Versuchen Sie es mit einem anderen Browser oder Ihrem Handy.
js-registration-address = Unter dieser Adresse lassen sich keine Passkeys einrichten. Öffnen Sie die Seite über den Link, den Sie bekommen haben, und versuchen Sie es noch einmal.
js-registration-aborted = Die Einrichtung des Passkeys wurde abgebrochen. Versuchen Sie es noch einmal.
js-registration-failed = Der Passkey konnte nicht erstellt werden. Versuchen Sie es noch einmal oder verwenden Sie ein anderes Gerät.
js-signin-cancelled = Die Anmeldung mit einem Passkey wurde abgebrochen oder ist abgelaufen. Versuchen Sie es noch einmal oder geben Sie Ihren Benutzernamen ein.
js-signin-unsupported = Dieser Browser kann keine Passkeys verwenden. Geben Sie Ihren Benutzernamen ein, um sich mit einem befristeten Zugriffspass anzumelden.
js-signin-address = Unter dieser Adresse lassen sich keine Passkeys verwenden. Öffnen Sie die Seite über den Link der Anwendung und versuchen Sie es noch einmal.
js-signin-failed = Die Anmeldung mit dem Passkey hat nicht geklappt. Versuchen Sie es noch einmal oder geben Sie Ihren Benutzernamen ein.
js-request-failed = Etwas ist schiefgegangen; bitte versuchen Sie es noch einmal.
js-left-before = Sie haben noch{" "}
js-left-after = , um ihn einzurichten.
js-left-under-minute = weniger als eine Minute
js-left-one-minute = 1 Minute
js-left-minutes = {"{"}n{"}"} Minuten
js-over-before = Die Zeit zum Einrichten eines Passkeys ist abgelaufen.{" "}
js-over-link = Melden Sie sich erneut an
js-over-after = : mit Ihrem befristeten Zugriffspass, und richten Sie Ihren Passkey gleich ein. Oder bitten Sie Ihre Administration um einen neuen Pass.
account-delete-warning = „{ $name }“ löschen? Sie können sich dann nicht mehr damit anmelden.
account-delete-last-warning = „{ $name }“ ist Ihr letzter Passkey. Ohne Passkey können Sie sich erst wieder anmelden, wenn Ihre Administration Ihnen einen neuen befristeten Zugriffspass gibt.

## Antworten des Servers an das Seitenskript
script-window-over = Die Zeit zum Einrichten eines Passkeys ist abgelaufen. Melden Sie sich erneut an (mit einem Passkey oder Ihrem befristeten Zugriffspass) und fügen Sie ihn gleich hinzu.
script-ceremony-expired = Die Einrichtung hat zu lange gedauert. Versuchen Sie es noch einmal.
script-csrf = Laden Sie die Seite neu und versuchen Sie es noch einmal.
script-signed-out = Ihre Anmeldung ist abgelaufen. Melden Sie sich erneut an.
script-unavailable = Vorübergehend nicht verfügbar. Versuchen Sie es gleich noch einmal.
script-went-wrong = Etwas ist schiefgegangen. Versuchen Sie es noch einmal.
script-not-allowed = Ihre Organisation erlaubt Ihnen nicht, einen Passkey einzurichten.
script-already-registered = Der Passkey konnte nicht eingerichtet werden: Dieser Passkey ist schon registriert.
account-admin = Sie sind Administrator:
account-admin-link = Admin-Portal öffnen
passkey-unknown-model = unbekanntes Modell { $aaguid }
