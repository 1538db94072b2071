"""Operations on a bench host: doctor, inventory, and their command-line faces."""
