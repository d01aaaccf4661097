"""The screens customer service and program managers work in all day.

Every change goes through memberships.services (audit entry and event included): the change
form, the inline rows (new cards, alternate ids, remarks; deactivating a card) and the actions
(cancel with a reason, merge into a target, add a remark, block, unblock, reactivate). Personal
data is shown only to staff with the "Can see members' personal data" permission.
"""

from memberships.admin import companies, members  # noqa: F401 - registers the model admins
from memberships.admin.actions import register as register_member_actions

register_member_actions()  # the member page's own actions; other apps add theirs from their hooks
