locals {
  report_name = "massdriver-costs"
  bucket_name = "massdriver-costs-${random_id.suffix.hex}"
  external_id = var.external_id != "" ? var.external_id : random_uuid.external_id.result
  account_id  = data.aws_caller_identity.current.account_id

  # Report definitions of this account only; the CUR API exists only in us-east-1 (partition `aws`).
  billing_source_arn = "arn:aws:cur:us-east-1:${local.account_id}:definition/*"
}

data "aws_caller_identity" "current" {}

resource "random_id" "suffix" {
  byte_length = 4
}

resource "random_uuid" "external_id" {}

# ---------------------------------------------------------------------------------------------------------
# S3 bucket that receives the reports
# ---------------------------------------------------------------------------------------------------------

resource "aws_s3_bucket" "cur" {
  bucket = local.bucket_name

  # `tofu destroy` deletes the bucket together with every report in it (see README, Cleanup).
  force_destroy = true
}

resource "aws_s3_bucket_public_access_block" "cur" {
  bucket = aws_s3_bucket.cur.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# S3 answers 409 OperationAborted to concurrent changes of one bucket, so the sub-resources are chained.
resource "aws_s3_bucket_ownership_controls" "cur" {
  bucket = aws_s3_bucket.cur.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }

  depends_on = [aws_s3_bucket_public_access_block.cur]
}

resource "aws_s3_bucket_server_side_encryption_configuration" "cur" {
  bucket = aws_s3_bucket.cur.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }

  depends_on = [aws_s3_bucket_ownership_controls.cur]
}

resource "aws_s3_bucket_versioning" "cur" {
  bucket = aws_s3_bucket.cur.id

  versioning_configuration {
    status = "Enabled"
  }

  depends_on = [aws_s3_bucket_server_side_encryption_configuration.cur]
}

# OVERWRITE_REPORT rewrites the same keys every day; keep the previous versions only briefly.
resource "aws_s3_bucket_lifecycle_configuration" "cur" {
  bucket = aws_s3_bucket.cur.id

  rule {
    id     = "expire-noncurrent-report-versions"
    status = "Enabled"

    filter {
      prefix = ""
    }

    noncurrent_version_expiration {
      noncurrent_days = 30
    }
  }

  depends_on = [aws_s3_bucket_versioning.cur]
}

# ---------------------------------------------------------------------------------------------------------
# Bucket policy: lets AWS Billing (and only for this account's report definitions) write the reports
# ---------------------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "billing_delivery" {
  statement {
    sid    = "AllowBillingReadBucketAclAndPolicy"
    effect = "Allow"

    principals {
      type        = "Service"
      identifiers = ["billingreports.amazonaws.com"]
    }

    actions   = ["s3:GetBucketAcl", "s3:GetBucketPolicy"]
    resources = [aws_s3_bucket.cur.arn]

    # StringLike, not StringEquals: with StringEquals the `*` is literal and delivery stops.
    condition {
      test     = "StringLike"
      variable = "aws:SourceArn"
      values   = [local.billing_source_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid    = "AllowBillingWriteReports"
    effect = "Allow"

    principals {
      type        = "Service"
      identifiers = ["billingreports.amazonaws.com"]
    }

    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.cur.arn}/*"]

    condition {
      test     = "StringLike"
      variable = "aws:SourceArn"
      values   = [local.billing_source_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_s3_bucket_policy" "cur" {
  bucket = aws_s3_bucket.cur.id
  policy = data.aws_iam_policy_document.billing_delivery.json

  # The public access block must exist first (and S3 sub-resources must not race each other).
  depends_on = [
    aws_s3_bucket_public_access_block.cur,
    aws_s3_bucket_lifecycle_configuration.cur,
  ]
}

# ---------------------------------------------------------------------------------------------------------
# Cost and Usage Report
# ---------------------------------------------------------------------------------------------------------

resource "aws_cur_report_definition" "massdriver" {
  report_name                = local.report_name
  time_unit                  = "DAILY"
  format                     = "textORcsv"
  compression                = "ZIP"
  additional_schema_elements = ["RESOURCES"]
  report_versioning          = "OVERWRITE_REPORT"
  refresh_closed_reports     = true

  s3_bucket = aws_s3_bucket.cur.id
  s3_prefix = var.s3_prefix
  # The CUR API lives only in us-east-1 and the bucket is created there.
  s3_region = "us-east-1"

  # Creating the definition verifies that AWS Billing can write to the bucket; without the policy in place
  # it fails with an empty ValidationException.
  depends_on = [aws_s3_bucket_policy.cur]
}

# ---------------------------------------------------------------------------------------------------------
# Cross-account role Massdriver assumes to read the reports
# ---------------------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "massdriver_trust" {
  statement {
    sid     = "AllowMassdriverAssumeRoleWithExternalId"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${var.massdriver_aws_account_id}:root"]
    }

    condition {
      test     = "StringEquals"
      variable = "sts:ExternalId"
      values   = [local.external_id]
    }
  }
}

resource "aws_iam_role" "massdriver_cur_reader" {
  name               = "massdriver-cur-reader"
  description        = "Lets Massdriver read the Cost and Usage Reports in ${local.bucket_name}."
  assume_role_policy = data.aws_iam_policy_document.massdriver_trust.json
}

resource "aws_iam_policy" "massdriver_cur_reader" {
  name        = "massdriver-cur-reader-policy"
  description = "Minimal S3 read and tagging permissions for Massdriver cost collection."
  # The same JSON file is enforced by the service's end-to-end tests on the assumed role.
  policy = file("${path.module}/policies/cur-reader-policy.json")
}

resource "aws_iam_role_policy_attachment" "massdriver_cur_reader" {
  role       = aws_iam_role.massdriver_cur_reader.name
  policy_arn = aws_iam_policy.massdriver_cur_reader.arn
}
