variable "massdriver_aws_account_id" {
  description = "The Massdriver AWS account ID that may assume the CUR reader role (ask Massdriver support)."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.massdriver_aws_account_id))
    error_message = "massdriver_aws_account_id must be a 12-digit AWS account ID."
  }
}

variable "external_id" {
  description = "External ID Massdriver must present when assuming the role. Leave empty to have the module generate one."
  type        = string
  default     = ""
  sensitive   = true

  validation {
    condition     = var.external_id == "" || (length(var.external_id) >= 2 && length(var.external_id) <= 1224 && can(regex("^[\\w+=,.@:/-]+$", var.external_id)))
    error_message = "external_id must be 2-1224 characters of letters, digits and +=,.@:/-_ (or empty to generate one)."
  }
}

variable "s3_prefix" {
  description = "Key prefix under which AWS Billing writes the report. Must be non-empty and must not end with '/' or '.'."
  type        = string
  default     = "massdriver"

  validation {
    condition     = length(var.s3_prefix) > 0 && length(var.s3_prefix) <= 256 && can(regex("^[A-Za-z0-9!_.*'()-][A-Za-z0-9!_.*'()/-]*$", var.s3_prefix)) && !endswith(var.s3_prefix, "/") && !endswith(var.s3_prefix, ".")
    error_message = "s3_prefix must be 1-256 characters of letters, digits and !-_.*'()/, must not start with '/' and must not end with '/' or '.' (the CUR API rejects the last two)."
  }
}
