using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace CurWorkflows.Service.Extensions;

/// <summary>
/// What the generated OpenAPI document cannot see for itself: the API key scheme, the cost queries' parameters (read
/// from the query string by hand, so that each bad value is named in the 400), the CSV answer, amounts written as
/// decimal strings, and fields left out when null.
/// </summary>
internal static class OpenApiDocumentation
{
    public const string ApiKeyScheme = "api_key";

    private static readonly string[] CostPaths = ["api/v1/costs", "api/v1/costs/resources"];

    public static void Configure(OpenApiOptions options)
    {
        options.AddDocumentTransformer((document, _, _) =>
        {
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[ApiKeyScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "An organization's API key (cwk_...), or the admin key for /api/v1/admin.",
            };
            return Task.CompletedTask;
        });

        options.AddOperationTransformer((operation, context, _) =>
        {
            var path = context.Description.RelativePath?.TrimEnd('/') ?? "";
            if (path.StartsWith("api/v1", StringComparison.Ordinal))
            {
                operation.Security ??= [];
                operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(ApiKeyScheme, context.Document)] = [] });
            }

            if (CostPaths.Contains(path, StringComparer.Ordinal))
            {
                DescribeCostQuery(operation, byResource: path.EndsWith("/resources", StringComparison.Ordinal));
            }

            return Task.CompletedTask;
        });

        options.AddSchemaTransformer((schema, context, _) =>
        {
            var type = context.JsonTypeInfo.Type;
            if (type == typeof(decimal) || type == typeof(decimal?))
            {
                // DecimalStringConverter: every digit, as a string.
                schema.Type = type == typeof(decimal?) ? JsonSchemaType.String | JsonSchemaType.Null : JsonSchemaType.String;
                schema.Format = "decimal";
                schema.Pattern = "^-?[0-9]+(\\.[0-9]+)?$";
            }

            // Null values are left out of the answers (JsonIgnoreCondition.WhenWritingNull): such fields are optional.
            if (schema.Required is { Count: > 0 } required)
            {
                foreach (var property in context.JsonTypeInfo.Properties.Where(p => p.IsGetNullable))
                {
                    required.Remove(property.Name);
                }
            }

            if (type == typeof(Validation.EnableIntegrationRequest))
            {
                // Its fields are nullable so that the validator, not the binder, names each missing one in the 400.
                schema.Required = new HashSet<string>(["iam_role_arn", "external_id", "bucket_name"], StringComparer.Ordinal);
            }

            return Task.CompletedTask;
        });
    }

    private static void DescribeCostQuery(OpenApiOperation operation, bool byResource)
    {
        operation.Parameters ??= [];
        operation.Parameters.Add(QueryParameter("from", Text("date"), "First day, yyyy-MM-dd (2000-01-01 to 2199-12-31); default: the first day of this month, or of 12 months ago for monthly."));
        operation.Parameters.Add(QueryParameter("to", Text("date"), "Last day, inclusive, yyyy-MM-dd; default: today."));
        operation.Parameters.Add(QueryParameter("granularity", Choice("daily", "monthly"), "daily (default) or monthly."));
        operation.Parameters.Add(QueryParameter(
            "package",
            new OpenApiSchema { Type = JsonSchemaType.Array, Items = Text(null) },
            byResource ? "The package whose resources to list (\"\" is untagged cost)." : "Packages to keep in the rows (repeatable; \"\" is untagged cost). Totals always cover everything.",
            required: byResource));
        operation.Parameters.Add(QueryParameter("integration_id", Text("uuid"), "Only this integration's cost."));
        operation.Parameters.Add(QueryParameter("format", Choice("json", "csv"), "csv answers text/csv; so does Accept: text/csv ranked at least as high as JSON."));

        if (operation.Responses?.TryGetValue("200", out var ok) == true && ok.Content?.ContainsKey("text/csv") == true)
        {
            ok.Content["text/csv"] = new OpenApiMediaType { Schema = Text(null) };
        }
    }

    private static OpenApiParameter QueryParameter(string name, OpenApiSchema schema, string description, bool required = false) => new()
    {
        Name = name,
        In = ParameterLocation.Query,
        Required = required,
        Description = description,
        Schema = schema,
    };

    private static OpenApiSchema Text(string? format) => new() { Type = JsonSchemaType.String, Format = format };

    private static OpenApiSchema Choice(params string[] values) => new()
    {
        Type = JsonSchemaType.String,
        Enum = [.. values.Select(value => (System.Text.Json.Nodes.JsonNode)System.Text.Json.Nodes.JsonValue.Create(value))],
    };
}
