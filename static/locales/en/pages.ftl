# Onramp's pages for people, in English (the fallback for every language).
# Messages named js-* are the page script's (static/js/webauthn.js).
# Sentences the code passes as text (error pages, notices) are found here
# by their English wording: keep those identical to the code's.

brand = Onramp
skip-to-content = Skip to the content

## Sign-in
signin-title = Sign in
signin-to-app = to continue to { $app }
signin-username = User name
signin-next = Next
signin-or = or
signin-with-passkey = Sign in with a passkey
signin-help = New here or lost your device? Use the user name and Temporary Access Pass your administrator gave you.
signin-enter-username = Enter your user name, e.g. name@example.com.
signin-other-account = The application asked for a different account than the one you are signed in with. Sign in with the account the application expects.

## Temporary Access Pass
tap-title = Enter your Temporary Access Pass
tap-signing-in-as = Signing in as { $user }.
tap-not-you = Not you?
tap-label = Temporary Access Pass
tap-help = Case, spaces and dashes don't matter.
tap-submit = Sign in
tap-wrong = That user name and Temporary Access Pass don't match. Check the pass and try again.
tap-locked = Too many failed attempts. Try again in { $wait }.
wait-minutes = { $n ->
    [one] 1 minute
   *[other] { $n } minutes
}
wait-hours = { $n ->
    [one] 1 hour
   *[other] { $n } hours
}
tap-busy = Onramp is busy right now. Wait a moment, then try again.
tap-not-yet-valid = This Temporary Access Pass is not valid yet. It starts at
tap-expired = This Temporary Access Pass has expired. Ask your administrator for a new one.
tap-used = This one-time Temporary Access Pass has already been used. Ask your administrator for a new one.
tap-disabled = Sign-in with a Temporary Access Pass is turned off for your account.
account-disabled = Your account is disabled. Contact your administrator.

## Enrollment
enroll-title = Set up your passkey
enroll-intro = A passkey lets you sign in with your fingerprint, face or device PIN: nothing to type, nothing to phish.
enroll-left = You have { $minutes ->
    [one] 1 minute
   *[other] { $minutes } minutes
} to set it up.
enroll-create = Create passkey
enroll-needs-script = Creating a passkey needs JavaScript.
enroll-skip = Skip: I already have a passkey
enroll-lost-title = Lost your phone or security key?
enroll-lost-help = Remove the passkey you no longer have, then set up a new one above.
enroll-remove = Remove “{ $name }”…
enroll-removed = The passkey was removed. Set up a new one now.
enroll-gone = That passkey no longer exists.
enroll-remove-title = Remove passkey
enroll-remove-detail = Remove “{ $name }”? Nobody can sign in with it any more: do this when the device is lost or no longer yours.
enroll-remove-button = Remove passkey
window-over-title = The time to set up a passkey is over
window-over-detail = For your security, a passkey can only be set up shortly after signing in with a Temporary Access Pass. Sign in again with your pass, or ask your administrator for a new one.
sign-in-again = Sign in again

## Passkeys as listed
passkey-synced = Synced passkey
passkey-device-bound = Device-bound passkey
passkey-added = added
passkey-last-used = last used
passkey-never-used = never used to sign in

## All set
all-set-title = You're all set
all-set-ready = Your passkey is ready. You won't need the Temporary Access Pass again.
all-set-how = From now on, sign in with your passkey: on the sign-in page choose “Sign in with a passkey” (or pick it when you type your user name), then use your fingerprint, face or device PIN.
all-set-continue = Continue to { $app }
all-set-security-info = Go to your security info

## Signing out
logout-title = Sign out?
logout-asked-by = { $app } asked to sign you out of Onramp.
logout-this-browser = You will be signed out of Onramp on this browser.
logout-button = Sign out
signed-out-title = You're signed out
signed-out-detail = You have been signed out of Onramp on this browser. To be safe on a shared computer, close the browser too.
logout-invalid = This sign-out link is not valid

## Security info
account-title = Security info
account-signed-in-as = Signed in as { $user }.
account-passkeys = Passkeys
account-no-passkey = You have no passkey. Add one now: without it you will need a new Temporary Access Pass to sign in.
account-name = Name
account-rename = Rename
account-delete = Delete “{ $name }”…
account-add = Add a passkey
account-add-later = To add a passkey, sign in again with a passkey or a Temporary Access Pass; you can add one in the 15 minutes after.
account-tap = Temporary Access Pass
account-tap-valid-until = Valid until
account-tap-valid-from = Valid from
account-tap-to = to
account-tap-expired-at = Expired at
account-tap-used = Already used (one-time pass).
account-tap-turned-off = Not usable: turned off by policy.
account-tap-delete = Delete my Temporary Access Pass…
account-no-tap = You have no Temporary Access Pass.
account-sign-out = Sign out
account-renamed = The passkey was renamed.
account-deleted = The passkey was deleted.
account-tap-deleted = Your Temporary Access Pass was deleted.
account-gone = That item no longer exists.
confirm-cancel = Cancel
account-delete-title = Delete passkey
account-delete-button = Delete passkey
account-tap-delete-title = Delete your Temporary Access Pass
account-tap-delete-detail = After this, the pass can no longer be used to sign in.
account-tap-delete-button = Delete pass

## Home
home-title = Welcome
home-intro = This is your organisation's sign-in service. Applications send you here to sign in; you don't need to bookmark this page.
home-sign-in = Sign in
home-sign-in-how = with your passkey, or with a Temporary Access Pass from your administrator.
home-security-info = Security info
home-security-info-how = see and manage your passkeys.
home-admin = Admin portal
home-admin-how = for administrators.

## Error pages (found by their English wording)
error-signin-expired = This sign-in has expired
error-signin-expired-detail = The sign-in request is no longer valid. Go back to the application and start again.
error-access-denied = Access denied
error-not-allowed = Not allowed
error-check-input = Please check your input
error-try-again = Please try again
error-unavailable = Temporarily unavailable
error-signin-unavailable = Sign-in is unavailable for a moment. Please try again shortly.
error-try-shortly = Please try again shortly.
error-went-wrong = Something went wrong
error-try-again-detail = Please try again.
error-csrf = This form expired or came from somewhere else. Go back, reload the page and try again.
error-back = Back
error-form-unreadable = This form could not be read

## The page script
js-registration-duplicate = This device already has a passkey for your account. Sign in with it, or add a passkey on another device or security key.
js-registration-cancelled = The passkey was not created: the prompt was closed or timed out. Try again when you're ready.
js-registration-unsupported = This browser or device can't create a passkey. Try another browser, or your phone.
js-registration-address = Passkeys can't be set up on this address. Open the page from the link you were given and try again.
js-registration-aborted = Setting up the passkey was stopped. Try again.
js-registration-failed = The passkey could not be created. Try again, or use another device.
js-signin-cancelled = Sign-in with a passkey was cancelled or timed out. Try again, or enter your user name.
js-signin-unsupported = This browser can't use passkeys. Enter your user name to sign in with a Temporary Access Pass.
js-signin-address = Passkeys can't be used on this address. Open the page from the application's link and try again.
js-signin-failed = The passkey sign-in did not work. Try again, or enter your user name.
js-request-failed = Something went wrong; please try again.
js-left-before = You have{" "}
js-left-after = {" "}to set it up.
js-left-under-minute = less than a minute
js-left-one-minute = 1 minute
js-left-minutes = {"{"}n{"}"} minutes
js-over-before = The time to set up a passkey is over.{" "}
js-over-link = Sign in again
js-over-after = {" "}with your Temporary Access Pass and set up your passkey right away, or ask your administrator for a new pass.
account-delete-warning = Delete “{ $name }”? You will no longer be able to sign in with it.
account-delete-last-warning = “{ $name }” is your last passkey. Without a passkey you cannot sign in until your administrator gives you a new Temporary Access Pass.

## The page script's answers from the server (found by their English wording)
script-window-over = the time to set up a passkey is over; sign in again (with a passkey or your Temporary Access Pass) and add it right away
script-ceremony-expired = the registration took too long; try again
script-csrf = Reload the page and try again.
script-signed-out = Your sign-in has ended; sign in again.
script-unavailable = Temporarily unavailable; try again shortly.
script-went-wrong = Something went wrong; try again.
script-not-allowed = your organisation does not let you register a passkey
script-already-registered = the passkey could not be registered: this passkey is already registered
account-admin = You are an administrator:
account-admin-link = open the admin portal
passkey-unknown-model = unknown model { $aaguid }
