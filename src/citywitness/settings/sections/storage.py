"""Where evidence bytes live: the encrypted content store and its backends."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator

from citywitness.settings.sections.base import Section


class S3StorageSettings(Section):
    endpoint_url: str | None = Field(
        default=None,
        description="S3 endpoint (MinIO, Ceph RGW, ...); unset: the AWS endpoint of `region`.",
    )
    bucket: str = Field(default="", max_length=63, description="Bucket holding the objects.")
    region: str = Field(default="us-east-1", description="Region of the bucket.")
    access_key_id: str | None = Field(
        default=None, description="Access key id; unset: the usual AWS credential chain."
    )
    secret_access_key: SecretStr | None = Field(
        default=None, description="Secret access key paired with `access_key_id`."
    )
    prefix: str = Field(
        default="", max_length=200, description="Key prefix inside the bucket (e.g. 'cw/')."
    )
    multipart_part_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=5 * 1024 * 1024,
        description="Objects larger than this are uploaded in parts of this size.",
    )


class StorageSettings(Section):
    backend: Literal["local", "s3"] = Field(
        default="local", description="Where encrypted evidence bytes live."
    )
    local_root: Path = Field(
        default=Path("objects"),
        description="Object directory of the local backend; relative paths are under data_dir.",
    )
    staging_dir: Path = Field(
        default=Path("staging"),
        description=(
            "Encrypted partial uploads (resumable); relative paths are under data_dir. "
            "Keep it on the same filesystem as local_root so finishing an upload is a rename."
        ),
    )
    kek_file: Path = Field(
        default=Path("keys/kek.key"),
        description=(
            "Key-encryption key file (created 0600 in a 0700 directory on first use; refused "
            "if group or world can read it); relative paths are under data_dir."
        ),
    )
    chunk_size: int = Field(
        default=1024 * 1024,
        ge=64 * 1024,
        le=64 * 1024 * 1024,
        multiple_of=4096,
        description="Plaintext bytes per encrypted chunk (the unit a ranged read decrypts).",
    )
    min_free_bytes: int = Field(
        default=1024 * 1024 * 1024,
        ge=0,
        description="Free space kept on local disks; a write that would eat into it gets 507.",
    )
    max_bytes: int | None = Field(
        default=None, ge=0, description="Cap on all stored bytes (any backend); unset: no cap."
    )
    s3: S3StorageSettings = Field(
        default_factory=S3StorageSettings, description="S3-compatible backend."
    )

    @model_validator(mode="after")
    def _s3_needs_bucket(self) -> StorageSettings:
        if self.backend == "s3" and not self.s3.bucket:
            raise ValueError("storage.s3.bucket is required when storage.backend is s3")
        return self
