"""S3-compatible backend (AWS, MinIO, Ceph RGW, ...) through boto3.

A blob appears only complete: small blobs are one PUT, large ones a multipart upload that
becomes visible at CompleteMultipartUpload (and is aborted on any failure).  Reads are
ranged GETs, so a playback seek fetches only the chunks it needs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import boto3  # type: ignore[import-untyped]  # boto3 ships no type information
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import ClientError  # type: ignore[import-untyped]

from citywitness.storage.backend import BlobInfo, BlobMissing, BlobReader, parse_blob_name

_MISSING_CODES = {"404", "NoSuchKey", "NotFound"}


def _is_missing(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code")) in _MISSING_CODES


def make_client(
    *,
    endpoint_url: str | None,
    region: str,
    access_key_id: str | None,
    secret_access_key: str | None,
) -> Any:
    """A boto3 S3 client with path-style addressing (works with MinIO and moto too)."""
    config = Config(
        signature_version="s3v4",
        retries={"max_attempts": 5, "mode": "standard"},
        s3={"addressing_style": "path"},
    )
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        config=config,
    )


class _S3Reader:
    def __init__(self, client: Any, bucket: str, key: str) -> None:
        self._client, self._bucket, self._key = client, bucket, key
        try:
            head = client.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if _is_missing(exc):
                raise BlobMissing(key) from None
            raise
        self.size = int(head["ContentLength"])

    def read(self, offset: int, length: int) -> bytes:
        end = min(offset + length, self.size) - 1
        if end < offset:
            return b""
        try:
            response = self._client.get_object(
                Bucket=self._bucket, Key=self._key, Range=f"bytes={offset}-{end}"
            )
        except ClientError as exc:
            if _is_missing(exc):
                raise BlobMissing(self._key) from None
            raise
        return cast(bytes, response["Body"].read())

    def close(self) -> None:
        return None


class S3Backend:
    """Blobs as objects `<prefix><name>` in one bucket."""

    def __init__(self, client: Any, bucket: str, *, prefix: str = "", part_bytes: int) -> None:
        self._client = client
        self.bucket = bucket
        self.prefix = prefix
        self.part_bytes = part_bytes

    def _key(self, name: str) -> str:
        if parse_blob_name(name) is None:
            raise ValueError(f"not a blob name: {name!r}")
        return self.prefix + name

    def put_file(self, name: str, source: Path) -> None:
        key = self._key(name)
        if source.stat().st_size <= self.part_bytes:
            with source.open("rb") as body:
                self._client.put_object(Bucket=self.bucket, Key=key, Body=body)
            return
        upload = self._client.create_multipart_upload(Bucket=self.bucket, Key=key)
        upload_id = upload["UploadId"]
        try:
            parts = self._upload_parts(key, upload_id, source)
            self._client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            self._client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            raise

    def _upload_parts(self, key: str, upload_id: str, source: Path) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = []
        with source.open("rb") as handle:
            while body := handle.read(self.part_bytes):
                number = len(parts) + 1
                response = self._client.upload_part(
                    Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
                )
                parts.append({"PartNumber": number, "ETag": response["ETag"]})
        return parts

    def open(self, name: str) -> BlobReader:
        return _S3Reader(self._client, self.bucket, self._key(name))

    def size(self, name: str) -> int | None:
        try:
            head = self._client.head_object(Bucket=self.bucket, Key=self._key(name))
        except ClientError as exc:
            if _is_missing(exc):
                return None
            raise
        return int(head["ContentLength"])

    def delete(self, name: str) -> None:
        self._client.delete_object(Bucket=self.bucket, Key=self._key(name))

    def list_page(self, after: str | None, limit: int) -> list[BlobInfo]:
        request: dict[str, Any] = {
            "Bucket": self.bucket,
            "Prefix": self.prefix,
            "MaxKeys": min(limit, 1000),
        }
        if after is not None:
            request["StartAfter"] = self.prefix + after
        found: list[BlobInfo] = []
        while len(found) < limit:
            response = self._client.list_objects_v2(**request)
            for item in response.get("Contents", []):
                name = str(item["Key"])[len(self.prefix) :]
                found.append(BlobInfo(name, int(item["Size"]), item["LastModified"]))
            if not response.get("IsTruncated"):
                break
            request["ContinuationToken"] = response["NextContinuationToken"]
        return found[:limit]

    def free_bytes(self) -> int | None:
        return None
