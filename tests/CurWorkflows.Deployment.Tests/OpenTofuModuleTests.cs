using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace CurWorkflows.Deployment.Tests;

/// <summary>
/// The customer's module against the product doc and ../shared/reference/opentofu-module.md. Providers cannot be
/// installed here (no `tofu validate`, and `tofu plan` only of the variables), so most tests read the HCL structure itself.
/// </summary>
public sealed class OpenTofuModuleTests
{
    /// <summary>The IAM permissions section of the product doc, statement for statement.</summary>
    private const string ProductDocPolicy = """
        {
          "Version": "2012-10-17",
          "Statement": [
            { "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": "arn:aws:s3:::massdriver-costs-*" },
            { "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::massdriver-costs-*/*" },
            { "Effect": "Allow", "Action": ["tag:GetResources"], "Resource": "*" }
          ]
        }
        """;

    private static readonly HclBlock Module = Hcl.ParseFiles(Directory.GetFiles(RepositoryPaths.ModuleDirectory, "*.tf"));

    private static string PolicyFile => Path.Combine(RepositoryPaths.ModuleDirectory, "policies", "cur-reader-policy.json");

    [Fact]
    public void Reader_policy_file_is_exactly_the_product_docs_three_statements()
    {
        var policy = JsonNode.Parse(File.ReadAllText(PolicyFile));

        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(ProductDocPolicy), policy), $"policies/cur-reader-policy.json differs from the product doc:\n{policy}");
    }

    [Fact]
    public void Module_readme_shows_the_policy_the_module_applies()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryPaths.ModuleDirectory, "README.md"));
        var section = readme[readme.IndexOf("## IAM Permissions", StringComparison.Ordinal)..];
        var json = Regex.Match(section, "```json\\n(?<json>.*?)```", RegexOptions.Singleline).Groups["json"].Value;

        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(File.ReadAllText(PolicyFile)), JsonNode.Parse(json)));
    }

    [Fact]
    public void Reader_policy_is_the_file_attached_as_a_managed_policy_named_as_in_the_product_doc()
    {
        var policy = Module.Child("resource", "aws_iam_policy", "massdriver_cur_reader");
        var attachment = Module.Child("resource", "aws_iam_role_policy_attachment", "massdriver_cur_reader");

        Assert.Equal("massdriver-cur-reader-policy", Hcl.Unquote(policy.Attribute("name")));
        Assert.Equal("file(\"${path.module}/policies/cur-reader-policy.json\")", policy.Attribute("policy"));
        Assert.Equal("aws_iam_role.massdriver_cur_reader.name", attachment.Attribute("role"));
        Assert.Equal("aws_iam_policy.massdriver_cur_reader.arn", attachment.Attribute("policy_arn"));
        // inline_policy on the role is deprecated; the attached managed policy is the only grant.
        Assert.False(Module.Child("resource", "aws_iam_role", "massdriver_cur_reader").Children("inline_policy").Any());
        var iamResources = Module.Children("resource").Select(resource => resource.Labels[0]).Where(type => type.StartsWith("aws_iam_", StringComparison.Ordinal));
        Assert.Equal(["aws_iam_policy", "aws_iam_role", "aws_iam_role_policy_attachment"], iamResources.Order());
    }

    [Fact]
    public void Providers_have_minimum_versions_and_aws_is_pinned_to_us_east_1()
    {
        var providers = Module.Child("terraform").Child("required_providers");
        var aws = providers.ObjectAttribute("aws");
        var random = providers.ObjectAttribute("random");

        Assert.Equal("hashicorp/aws", Hcl.Unquote(aws.Attribute("source")));
        Assert.Equal(">= 5.0", Hcl.Unquote(aws.Attribute("version")));
        Assert.Equal("hashicorp/random", Hcl.Unquote(random.Attribute("source")));
        Assert.Equal(">= 3.0", Hcl.Unquote(random.Attribute("version")));
        Assert.Equal("us-east-1", Hcl.Unquote(Module.Child("provider", "aws").Attribute("region")));
        // data.aws_region's `.name` is deprecated in provider 6 and broke CUR delivery in a public module.
        Assert.DoesNotContain(Module.Children("data"), data => data.Labels[0] == "aws_region");
    }

    [Theory]
    [InlineData("123456789012", true)]
    [InlineData("000000000000", true)]
    [InlineData("12345678901", false)]
    [InlineData("1234567890123", false)]
    [InlineData("12345678901a", false)]
    [InlineData("", false)]
    public void Account_id_variable_accepts_only_12_digits(string accountId, bool valid)
    {
        var variable = Module.Child("variable", "massdriver_aws_account_id");
        var condition = variable.Child("validation").Attribute("condition");
        var pattern = Regex.Match(condition, "^can\\(regex\\(\"(?<pattern>(?:[^\"\\\\]|\\\\.)*)\", var\\.massdriver_aws_account_id\\)\\)$").Groups["pattern"].Value;

        Assert.False(variable.Attributes.ContainsKey("default"));
        Assert.NotEmpty(pattern);
        Assert.Equal(valid, Regex.IsMatch(accountId, Hcl.Unquote($"\"{pattern}\"")));
    }

    [Fact]
    public void External_id_variable_is_optional_and_sensitive()
    {
        var variable = Module.Child("variable", "external_id");

        Assert.Equal("\"\"", variable.Attribute("default"));
        Assert.Equal("true", variable.Attribute("sensitive"));
        Assert.StartsWith("var.external_id == \"\" ||", variable.Child("validation").Attribute("condition"), StringComparison.Ordinal);
    }

    public static TheoryData<string, string, bool> VariableValues() => new()
    {
        { "external_id", "0f8fad5b-d9cb-469f-a165-70867728950e", true },
        { "external_id", "ab", true },
        { "external_id", "Ab9_+=,.@:/-", true },
        { "external_id", new string('x', 1224), true },
        { "external_id", "", true },
        { "external_id", "a", false },
        { "external_id", "has space", false },
        { "external_id", new string('x', 1225), false },
        { "s3_prefix", "massdriver", true },
        { "s3_prefix", "team-a/costs_(2026)!*'.x", true },
        { "s3_prefix", new string('p', 256), true },
        { "s3_prefix", "a b", false },
        { "s3_prefix", "/costs", false },
        { "s3_prefix", "costs/", false },
        { "s3_prefix", "costs.", false },
        { "s3_prefix", "", false },
        { "s3_prefix", new string('p', 257), false },
    };

    /// <summary>
    /// OpenTofu itself evaluates the validations (its regex engine is RE2, which for one refuses repeat counts over 1000,
    /// so a pattern .NET accepts may never match there). <c>tofu plan</c> needs no provider for the variables alone.
    /// </summary>
    [TofuTheory]
    [MemberData(nameof(VariableValues))]
    public void OpenTofu_accepts_exactly_the_valid_variable_values(string name, string value, bool valid)
    {
        var directory = Directory.CreateTempSubdirectory("cur-module-variables-");
        try
        {
            File.Copy(Path.Combine(RepositoryPaths.ModuleDirectory, "variables.tf"), Path.Combine(directory.FullName, "variables.tf"));
            var (exitCode, output) = RunTofu(
                directory.FullName, "plan", "-no-color", "-input=false", "-var", "massdriver_aws_account_id=123456789012", "-var", $"{name}={value}");

            Assert.True(valid == (exitCode == 0), $"tofu plan exited {exitCode}:\n{output}");
            if (!valid)
            {
                Assert.Contains("Invalid value for variable", output, StringComparison.Ordinal);
            }
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public void External_id_is_generated_only_when_the_variable_is_empty()
    {
        var locals = Module.Child("locals");

        Assert.Equal("var.external_id != \"\" ? var.external_id : random_uuid.external_id.result", locals.Attribute("external_id"));
        Assert.Empty(Module.Child("resource", "random_uuid", "external_id").Attributes);
    }

    [Fact]
    public void Bucket_is_named_massdriver_costs_with_a_4_byte_suffix_and_force_destroy_is_on()
    {
        var bucket = Module.Child("resource", "aws_s3_bucket", "cur");

        Assert.Equal("local.bucket_name", bucket.Attribute("bucket"));
        Assert.Equal("massdriver-costs-${random_id.suffix.hex}", Hcl.Unquote(Module.Child("locals").Attribute("bucket_name")));
        Assert.Equal("4", Module.Child("resource", "random_id", "suffix").Attribute("byte_length"));
        Assert.Equal("true", bucket.Attribute("force_destroy"));
        Assert.InRange("massdriver-costs-".Length + (4 * 2), 3, 63);
        // The reader policy's wildcard covers the bucket the module creates.
        Assert.Matches("^arn:aws:s3:::massdriver-costs-\\*$", JsonNode.Parse(File.ReadAllText(PolicyFile))!["Statement"]![0]!["Resource"]!.GetValue<string>());
    }

    [Fact]
    public void Bucket_settings_are_separate_resources_blocking_public_access_with_owner_enforced_and_aes256()
    {
        var publicAccess = Module.Child("resource", "aws_s3_bucket_public_access_block", "cur");
        var ownership = Module.Child("resource", "aws_s3_bucket_ownership_controls", "cur");
        var encryption = Module.Child("resource", "aws_s3_bucket_server_side_encryption_configuration", "cur");

        foreach (var setting in new[] { "block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets" })
        {
            Assert.Equal("true", publicAccess.Attribute(setting));
        }

        Assert.Equal("BucketOwnerEnforced", Hcl.Unquote(ownership.Child("rule").Attribute("object_ownership")));
        Assert.Equal("AES256", Hcl.Unquote(encryption.Child("rule").Child("apply_server_side_encryption_by_default").Attribute("sse_algorithm")));
        // The deprecated inline arguments of aws_s3_bucket are not used.
        var bucket = Module.Child("resource", "aws_s3_bucket", "cur");
        Assert.Empty(bucket.Blocks);
        Assert.Equal(["bucket", "force_destroy"], bucket.Attributes.Keys.Order());
    }

    [Fact]
    public void Lifecycle_rule_expires_only_noncurrent_versions_for_the_whole_bucket()
    {
        var rule = Module.Child("resource", "aws_s3_bucket_lifecycle_configuration", "cur").Child("rule");

        Assert.Equal("\"\"", rule.Child("filter").Attribute("prefix"));
        Assert.Equal("Enabled", Hcl.Unquote(rule.Attribute("status")));
        Assert.True(int.Parse(rule.Child("noncurrent_version_expiration").Attribute("noncurrent_days"), System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.Equal(["filter", "noncurrent_version_expiration"], rule.Blocks.Select(block => block.Type).Order());
        Assert.Equal("Enabled", Hcl.Unquote(Module.Child("resource", "aws_s3_bucket_versioning", "cur").Child("versioning_configuration").Attribute("status")));
    }

    [Fact]
    public void Bucket_sub_resources_are_applied_one_after_another_with_the_policy_after_the_public_access_block()
    {
        var subResources = Module.Children("resource")
            .Where(resource => resource.Labels[0].StartsWith("aws_s3_bucket_", StringComparison.Ordinal))
            .ToDictionary(resource => $"{resource.Labels[0]}.{resource.Labels[1]}", StringComparer.Ordinal);
        var dependsOn = subResources.ToDictionary(
            entry => entry.Key,
            entry => entry.Value.Attributes.TryGetValue("depends_on", out var list) ? Hcl.ListItems(list).ToHashSet(StringComparer.Ordinal) : [],
            StringComparer.Ordinal);

        bool After(string later, string earlier) => dependsOn[later].Contains(earlier) || dependsOn[later].Any(middle => dependsOn.ContainsKey(middle) && After(middle, earlier));

        Assert.Equal(6, subResources.Count);
        Assert.True(After("aws_s3_bucket_policy.cur", "aws_s3_bucket_public_access_block.cur"));
        var names = subResources.Keys.ToList();
        foreach (var first in names)
        {
            foreach (var second in names.Where(name => string.CompareOrdinal(name, first) > 0))
            {
                Assert.True(After(first, second) || After(second, first), $"{first} and {second} may be applied concurrently (S3 409 OperationAborted).");
            }
        }
    }

    [Fact]
    public void Bucket_policy_lets_only_aws_billing_of_this_account_read_the_bucket_and_write_reports()
    {
        var document = Module.Child("data", "aws_iam_policy_document", "billing_delivery");
        var locals = Module.Child("locals");
        var statements = document.Children("statement").ToList();

        Assert.Equal("data.aws_iam_policy_document.billing_delivery.json", Module.Child("resource", "aws_s3_bucket_policy", "cur").Attribute("policy"));
        Assert.Equal("arn:aws:cur:us-east-1:${local.account_id}:definition/*", Hcl.Unquote(locals.Attribute("billing_source_arn")));
        Assert.Equal("data.aws_caller_identity.current.account_id", locals.Attribute("account_id"));
        Assert.Equal(2, statements.Count);
        var grants = statements.ToDictionary(
            statement => string.Join(',', Hcl.ListItems(statement.Attribute("actions")).Select(Hcl.Unquote).Order()),
            statement => Hcl.ListItems(statement.Attribute("resources")).Single(),
            StringComparer.Ordinal);
        Assert.Equal("aws_s3_bucket.cur.arn", grants["s3:GetBucketAcl,s3:GetBucketPolicy"]);
        Assert.Equal("\"${aws_s3_bucket.cur.arn}/*\"", grants["s3:PutObject"]);

        foreach (var statement in statements)
        {
            var principal = statement.Child("principals");
            Assert.Equal("Service", Hcl.Unquote(principal.Attribute("type")));
            Assert.Equal(["\"billingreports.amazonaws.com\""], Hcl.ListItems(principal.Attribute("identifiers")));
            Assert.Equal("Allow", Hcl.Unquote(statement.Attribute("effect")));

            var conditions = statement.Children("condition")
                .ToDictionary(condition => Hcl.Unquote(condition.Attribute("variable")), StringComparer.Ordinal);
            Assert.Equal(["aws:SourceAccount", "aws:SourceArn"], conditions.Keys.Order());
            // StringLike: with StringEquals the `*` of definition/* is literal and delivery stops.
            Assert.Equal("StringLike", Hcl.Unquote(conditions["aws:SourceArn"].Attribute("test")));
            Assert.Equal(["local.billing_source_arn"], Hcl.ListItems(conditions["aws:SourceArn"].Attribute("values")));
            Assert.Equal("StringEquals", Hcl.Unquote(conditions["aws:SourceAccount"].Attribute("test")));
            Assert.Equal(["local.account_id"], Hcl.ListItems(conditions["aws:SourceAccount"].Attribute("values")));
        }
    }

    [Fact]
    public void Report_definition_has_the_product_docs_settings_and_waits_for_the_bucket_policy()
    {
        var report = Module.Child("resource", "aws_cur_report_definition", "massdriver");

        Assert.Equal("local.report_name", report.Attribute("report_name"));
        Assert.Equal("massdriver-costs", Hcl.Unquote(Module.Child("locals").Attribute("report_name")));
        Assert.Equal("DAILY", Hcl.Unquote(report.Attribute("time_unit")));
        Assert.Equal("textORcsv", Hcl.Unquote(report.Attribute("format")));
        Assert.Equal("ZIP", Hcl.Unquote(report.Attribute("compression")));
        Assert.Equal(["\"RESOURCES\""], Hcl.ListItems(report.Attribute("additional_schema_elements")));
        Assert.Equal("OVERWRITE_REPORT", Hcl.Unquote(report.Attribute("report_versioning")));
        Assert.Equal("true", report.Attribute("refresh_closed_reports"));
        Assert.Equal("us-east-1", Hcl.Unquote(report.Attribute("s3_region")));
        Assert.Equal("aws_s3_bucket.cur.id", report.Attribute("s3_bucket"));
        Assert.Equal("var.s3_prefix", report.Attribute("s3_prefix"));
        Assert.Contains("aws_s3_bucket_policy.cur", Hcl.ListItems(report.Attribute("depends_on")));
        // ATHENA artifacts would force Parquet.
        Assert.False(report.Attributes.ContainsKey("additional_artifacts"));
    }

    [Fact]
    public void Report_prefix_defaults_to_a_value_the_cur_api_accepts_and_the_validation_rejects_the_rest()
    {
        var variable = Module.Child("variable", "s3_prefix");
        var prefix = Hcl.Unquote(variable.Attribute("default"));
        var condition = variable.Child("validation").Attribute("condition");

        Assert.Equal("massdriver", prefix);
        Assert.Contains("length(var.s3_prefix) > 0", condition, StringComparison.Ordinal);
        Assert.Contains("!endswith(var.s3_prefix, \"/\")", condition, StringComparison.Ordinal);
        Assert.Contains("!endswith(var.s3_prefix, \".\")", condition, StringComparison.Ordinal);
    }

    [Fact]
    public void Role_trusts_only_the_massdriver_account_with_the_external_id()
    {
        var role = Module.Child("resource", "aws_iam_role", "massdriver_cur_reader");
        var trust = Module.Child("data", "aws_iam_policy_document", "massdriver_trust");
        var statement = trust.Child("statement");
        var principal = statement.Child("principals");
        var condition = statement.Child("condition");

        Assert.Equal("massdriver-cur-reader", Hcl.Unquote(role.Attribute("name")));
        Assert.Equal("data.aws_iam_policy_document.massdriver_trust.json", role.Attribute("assume_role_policy"));
        Assert.Equal(["\"sts:AssumeRole\""], Hcl.ListItems(statement.Attribute("actions")));
        Assert.Equal("Allow", Hcl.Unquote(statement.Attribute("effect")));
        Assert.Equal("AWS", Hcl.Unquote(principal.Attribute("type")));
        Assert.Equal(["\"arn:aws:iam::${var.massdriver_aws_account_id}:root\""], Hcl.ListItems(principal.Attribute("identifiers")));
        Assert.Equal("StringEquals", Hcl.Unquote(condition.Attribute("test")));
        Assert.Equal("sts:ExternalId", Hcl.Unquote(condition.Attribute("variable")));
        Assert.Equal(["local.external_id"], Hcl.ListItems(condition.Attribute("values")));
    }

    [Fact]
    public void Integration_config_output_is_sensitive_and_has_the_fields_the_service_needs()
    {
        var output = Module.Child("output", "massdriver_integration_config");
        var value = output.ObjectAttribute("value");

        Assert.Equal("true", output.Attribute("sensitive"));
        Assert.Equal("aws_iam_role.massdriver_cur_reader.arn", value.Attribute("iam_role_arn"));
        Assert.Equal("local.external_id", value.Attribute("external_id"));
        Assert.Equal("aws_s3_bucket.cur.id", value.Attribute("bucket_name"));
        Assert.Equal("aws_cur_report_definition.massdriver.s3_prefix", value.Attribute("report_prefix"));
        Assert.Equal("aws_cur_report_definition.massdriver.report_name", value.Attribute("report_name"));
        Assert.Equal(5, value.Attributes.Count);
    }

    [Fact]
    public void Module_readme_has_the_product_docs_steps_resources_and_troubleshooting()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryPaths.ModuleDirectory, "README.md"));
        string[] required =
        [
            "### Step 1: Clone the Integration Module", "### Step 2: Configure Variables", "### Step 3: Apply the Module",
            "### Step 4: Retrieve Outputs", "### Step 5: Configure Massdriver", "massdriver_aws_account_id = \"YOUR_MASSDRIVER_ACCOUNT_ID\"",
            "tofu output -json massdriver_integration_config", "## Resources Created", "| S3 Bucket | `massdriver-costs-{hash}` |",
            "| CUR Report | `massdriver-costs` |", "| IAM Role | `massdriver-cur-reader` |", "| IAM Policy | `massdriver-cur-reader-policy` |",
            "## Troubleshooting", "### Enable fails with \"access_denied\"", "### Enable fails with \"bucket_not_found\"", "### No cost data appears",
            "management (payer) account", "force_destroy = true", "tofu destroy",
        ];

        Assert.All(required, text => Assert.Contains(text, readme, StringComparison.Ordinal));
    }

    [TofuFact]
    public void Tofu_fmt_finds_the_module_canonically_formatted()
    {
        var (exitCode, output) = RunTofu(RepositoryPaths.ModuleDirectory, "fmt", "-check", "-recursive", "-diff", RepositoryPaths.ModuleDirectory);

        Assert.True(exitCode == 0, $"tofu fmt -check exited {exitCode}:\n{output}");
    }

    private static (int ExitCode, string Output) RunTofu(string workingDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo(RepositoryPaths.Tofu!, arguments)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["TF_CLI_CONFIG_FILE"] = "/dev/null";
        start.Environment["TF_IN_AUTOMATION"] = "1";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(2)), $"tofu {string.Join(' ', arguments)} did not finish in 2 minutes.");
        return (process.ExitCode, output.Result + error.Result);
    }
}
