output "massdriver_integration_config" {
  description = "Values to enter when enabling the AWS Cost and Usage Reports integration in Massdriver. Read with `tofu output -json massdriver_integration_config`."
  # Built from the external ID, which is a secret; `tofu output -json` still prints it in plain text.
  sensitive = true
  value = {
    iam_role_arn  = aws_iam_role.massdriver_cur_reader.arn
    external_id   = local.external_id
    bucket_name   = aws_s3_bucket.cur.id
    report_prefix = aws_cur_report_definition.massdriver.s3_prefix
    report_name   = aws_cur_report_definition.massdriver.report_name
  }
}
