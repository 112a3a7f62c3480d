"""Messages the pages show that are written elsewhere: the scope descriptions of the
consent page (domain/identity.py) and the sign-in pages' own messages (api/oauth/authorize.py).

Listed here, marked for translation, so that `make messages` keeps them in the catalogues; a
test fails when one of them changes at its source without changing here.
"""

from __future__ import annotations

from api.web.errors import N_

SIGN_IN_MESSAGES = (
    N_("See your name, contact details and the history of changes to them"),
    N_("Change your name and contact details"),
    N_("See your accounts and their balances"),
    N_("See the transactions on your accounts"),
    N_("See your calls, messages and other contacts with us"),
    N_("See which uses of your data you have agreed to"),
    N_("Give or withdraw your agreement to uses of your data"),
    N_("Ask us to correct data you cannot change yourself"),
    N_("See who accessed your data and why"),
    N_("Ask for a copy of your data or a restriction of its use"),
    N_("Confirm to the app that it is you who signed in"),
    N_(
        "Erase your data for good: your profile, contacts "
        "and history are destroyed and cannot be recovered"
    ),
    N_("Read the audit log of every access to customer data"),
    N_("Handle customers' data requests and correction requests"),
    N_("Look up a customer's data for a support ticket"),
    N_("Read consent-filtered, pseudonymous analytics"),
    N_("Ask whether customers may be contacted for a campaign; record contacts"),
    N_("The email or password is not right."),
    N_("We are busy. Try again in a moment."),
    N_("The authorization request is malformed."),
    N_("This form has expired or did not come from this site. Start the sign-in again."),
    N_("Your sign-in has expired. Start again from the app."),
)
