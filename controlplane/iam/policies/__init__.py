"""Identity policies: managed policies and their versions, inline policies, attachments,
permissions boundaries, and policy documents as the API edge validates and encodes them."""
