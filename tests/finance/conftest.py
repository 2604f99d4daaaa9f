import shutil
from pathlib import Path

import pytest
from django.conf import settings


@pytest.fixture
def scdl_dir() -> Path:
    return Path(settings.SHARED_DIR) / "standards" / "schemas" / "scdl-subventions"


@pytest.fixture
def somme(scdl_dir) -> Path:
    return scdl_dir / "real" / "DEP_Somme_TB_20180330_DONNEES_CONVENTIONS.csv"


@pytest.fixture
def haute_garonne(scdl_dir) -> Path:
    return scdl_dir / "real" / "SCDL_DEP_Haute_Garonne_datalocale-subvention.csv"


@pytest.fixture
def dep80():
    from regio.accounts.models import Organisation

    return Organisation.objects.get(kind="departement", departement_id="80")


@pytest.fixture
def agent(dep80):
    from regio.accounts.models import Membership, User

    user = User.objects.create_user("agent.finances@somme.example", "motdepasse-solide-123", is_active=True)
    Membership.objects.create(user=user, organisation=dep80, role=Membership.Role.EDITOR, status=Membership.Status.ACTIVE)
    return user


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    yield settings.MEDIA_ROOT
    shutil.rmtree(settings.MEDIA_ROOT, ignore_errors=True)


def somme_variant(somme: Path, target: Path, edit) -> Path:
    """The real Somme file (Windows-1252, ';', decimal commas, AAAA/MM/JJ) with lines edited by ``edit``."""
    lines = somme.read_bytes().decode("cp1252").splitlines(keepends=True)
    target.write_bytes("".join(edit(lines)).encode("cp1252"))
    return target


@pytest.fixture(autouse=True)
def snapshot_dir(settings, tmp_path):
    """Each test has its own Parquet snapshot folder (never the developer's var/)."""
    settings.FINANCE_SNAPSHOT_DIR = tmp_path / "snapshot"
    return settings.FINANCE_SNAPSHOT_DIR


@pytest.fixture(autouse=True)
def fresh_plans():
    """Plans loaded with ``load-plan`` live in the file storage: look again in each test."""
    from regio.finance import nomenclature

    nomenclature.forget_loaded()
    yield
    nomenclature.forget_loaded()
