"""The back office keeps no tables of its own. This module exists so that Django sends the app its
post_migrate signal (only apps with a models module get one): backoffice.apps gives the roles the
permissions of new models then."""
