using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CurWorkflows.Storage.Migrations.SqlServer
{
    /// <inheritdoc />
    public partial class InitialCreate : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "organizations",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    name = table.Column<string>(type: "nvarchar(256)", maxLength: 256, nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "datetimeoffset", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_organizations", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "staging_daily_package_costs",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("SqlServer:Identity", "1, 1"),
                    usage_date = table.Column<DateOnly>(type: "date", nullable: false),
                    product_code = table.Column<string>(type: "nvarchar(128)", maxLength: 128, nullable: false),
                    collection_run_id = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    integration_id = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    billing_period = table.Column<DateOnly>(type: "date", nullable: false),
                    package = table.Column<string>(type: "nvarchar(256)", maxLength: 256, nullable: false),
                    currency = table.Column<string>(type: "nvarchar(8)", maxLength: 8, nullable: false),
                    unblended = table.Column<decimal>(type: "decimal(28,10)", precision: 28, scale: 10, nullable: false),
                    net_unblended = table.Column<decimal>(type: "decimal(28,10)", precision: 28, scale: 10, nullable: false),
                    amortized = table.Column<decimal>(type: "decimal(28,10)", precision: 28, scale: 10, nullable: false),
                    staged_at = table.Column<DateTimeOffset>(type: "datetimeoffset", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_staging_daily_package_costs", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "staging_daily_resource_costs",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("SqlServer:Identity", "1, 1"),
                    usage_date = table.Column<DateOnly>(type: "date", nullable: false),
                    resource_id = table.Column<string>(type: "nvarchar(2048)", maxLength: 2048, nullable: false),
                    product_code = table.Column<string>(type: "nvarchar(128)", maxLength: 128, nullable: false),
                    collection_run_id = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    integration_id = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    billing_period = table.Column<DateOnly>(type: "date", nullable: false),
                    package = table.Column<string>(type: "nvarchar(256)", maxLength: 256, nullable: false),
                    currency = table.Column<string>(type: "nvarchar(8)", maxLength: 8, nullable: false),
                    unblended = table.Column<decimal>(type: "decimal(28,10)", precision: 28, scale: 10, nullable: false),
                    net_unblended = table.Column<decimal>(type: "decimal(28,10)", precision: 28, scale: 10, nullable: false),
                    amortized = table.Column<decimal>(type: "decimal(28,10)", precision: 28, scale: 10, nullable: false),
                    staged_at = table.Column<DateTimeOffset>(type: "datetimeoffset", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_staging_daily_resource_costs", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "staging_monthly_package_costs",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("SqlServer:Identity", "1, 1"),
                    month = table.Column<DateOnly>(type: "date", nullable: false),
                    collection_run_id = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    integration_id = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    billing_period = table.Column<DateOnly>(type: "date", nullable: false),
                    package = table.Column<string>(type: "nvarchar(256)", maxLength: 256, nullable: false),
                    currency = table.Column<string>(type: "nvarchar(8)", maxLength: 8, nullable: false),
                    unblended = table.Column<decimal>(type: "decimal(28,10)", precision: 28, scale: 10, nullable: false),
                    net_unblended = table.Column<decimal>(type: "decimal(28,10)", precision: 28, scale: 10, nullable: false),
                    amortized = table.Column<decimal>(type: "decimal(28,10)", precision: 28, scale: 10, nullable: false),
                    staged_at = table.Column<DateTimeOffset>(type: "datetimeoffset", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_staging_monthly_package_costs", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "api_keys",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    organization_id = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    key_id = table.Column<string>(type: "nvarchar(64)", maxLength: 64, nullable: false),
                    secret_hash = table.Column<byte[]>(type: "varbinary(32)", maxLength: 32, nullable: false),
                    name = table.Column<string>(type: "nvarchar(256)", maxLength: 256, nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "datetimeoffset", nullable: false),
                    revoked_at = table.Column<DateTimeOffset>(type: "datetimeoffset", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_api_keys", x => x.id);
                    table.ForeignKey(
                        name: "FK_api_keys_organizations_organization_id",
                        column: x => x.organization_id,
                        principalTable: "organizations",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "integrations",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    organization_id = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    role_arn = table.Column<string>(type: "nvarchar(640)", maxLength: 640, nullable: false),
                    external_id = table.Column<string>(type: "nvarchar(1224)", maxLength: 1224, nullable: false),
                    bucket_name = table.Column<string>(type: "nvarchar(63)", maxLength: 63, nullable: false),
                    report_prefix = table.Column<string>(type: "nvarchar(1024)", maxLength: 1024, nullable: false),
                    report_name = table.Column<string>(type: "nvarchar(256)", maxLength: 256, nullable: false, defaultValue: "massdriver-costs"),
                    tag_key = table.Column<string>(type: "nvarchar(256)", maxLength: 256, nullable: false, defaultValue: "user:md-package"),
                    status = table.Column<string>(type: "nvarchar(16)", maxLength: 16, nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "datetimeoffset", nullable: false),
                    disabled_at = table.Column<DateTimeOffset>(type: "datetimeoffset", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_integrations", x => x.id);
                    table.ForeignKey(
                        name: "FK_integrations_organizations_organization_id",
                        column: x => x.organization_id,
                        principalTable: "organizations",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.CreateTable(
                name: "billing_periods",
                columns: table => new
                {
                    integration_id = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    period_start = table.Column<DateOnly>(type: "date", nullable: false),
                    organization_id = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    assembly_id = table.Column<string>(type: "nvarchar(128)", maxLength: 128, nullable: false),
                    manifest_e_tag = table.Column<string>(type: "nvarchar(128)", maxLength: 128, nullable: false),
                    is_final = table.Column<bool>(type: "bit", nullable: false),
                    currency = table.Column<string>(type: "nvarchar(8)", maxLength: 8, nullable: false),
                    unblended = table.Column<decimal>(type: "decimal(28,10)", precision: 28, scale: 10, nullable: false),
                    net_unblended = table.Column<decimal>(type: "decimal(28,10)", precision: 28, scale: 10, nullable: false),
                    amortized = table.Column<decimal>(type: "decimal(28,10)", precision: 28, scale: 10, nullable: false),
                    line_item_rows = table.Column<long>(type: "bigint", nullable: false),
                    aggregate_rows = table.Column<long>(type: "bigint", nullable: false),
                    ingested_at = table.Column<DateTimeOffset>(type: "datetimeoffset", nullable: false),
                    collection_run_id = table.Column<Guid>(type: "uniqueidentifier", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_billing_periods", x => new { x.integration_id, x.period_start });
                    table.ForeignKey(
                        name: "FK_billing_periods_integrations_integration_id",
                        column: x => x.integration_id,
                        principalTable: "integrations",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "collection_runs",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    integration_id = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    organization_id = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    workflow_id = table.Column<string>(type: "nvarchar(256)", maxLength: 256, nullable: false),
                    workflow_run_id = table.Column<string>(type: "nvarchar(256)", maxLength: 256, nullable: false),
                    started_at = table.Column<DateTimeOffset>(type: "datetimeoffset", nullable: false),
                    ended_at = table.Column<DateTimeOffset>(type: "datetimeoffset", nullable: true),
                    outcome = table.Column<string>(type: "nvarchar(16)", maxLength: 16, nullable: false),
                    error_code = table.Column<string>(type: "nvarchar(64)", maxLength: 64, nullable: true),
                    error_message = table.Column<string>(type: "nvarchar(4000)", maxLength: 4000, nullable: true),
                    periods_ingested = table.Column<int>(type: "int", nullable: false),
                    periods_skipped = table.Column<int>(type: "int", nullable: false),
                    files = table.Column<int>(type: "int", nullable: false),
                    rows = table.Column<long>(type: "bigint", nullable: false),
                    bytes = table.Column<long>(type: "bigint", nullable: false),
                    unblended = table.Column<decimal>(type: "decimal(28,10)", precision: 28, scale: 10, nullable: false),
                    net_unblended = table.Column<decimal>(type: "decimal(28,10)", precision: 28, scale: 10, nullable: false),
                    amortized = table.Column<decimal>(type: "decimal(28,10)", precision: 28, scale: 10, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_collection_runs", x => x.id);
                    table.ForeignKey(
                        name: "FK_collection_runs_integrations_integration_id",
                        column: x => x.integration_id,
                        principalTable: "integrations",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "daily_package_costs",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("SqlServer:Identity", "1, 1"),
                    usage_date = table.Column<DateOnly>(type: "date", nullable: false),
                    product_code = table.Column<string>(type: "nvarchar(128)", maxLength: 128, nullable: false),
                    organization_id = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    integration_id = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    billing_period = table.Column<DateOnly>(type: "date", nullable: false),
                    package = table.Column<string>(type: "nvarchar(256)", maxLength: 256, nullable: false),
                    currency = table.Column<string>(type: "nvarchar(8)", maxLength: 8, nullable: false),
                    unblended = table.Column<decimal>(type: "decimal(28,10)", precision: 28, scale: 10, nullable: false),
                    net_unblended = table.Column<decimal>(type: "decimal(28,10)", precision: 28, scale: 10, nullable: false),
                    amortized = table.Column<decimal>(type: "decimal(28,10)", precision: 28, scale: 10, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_daily_package_costs", x => x.id);
                    table.ForeignKey(
                        name: "FK_daily_package_costs_integrations_integration_id",
                        column: x => x.integration_id,
                        principalTable: "integrations",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "daily_resource_costs",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("SqlServer:Identity", "1, 1"),
                    usage_date = table.Column<DateOnly>(type: "date", nullable: false),
                    resource_id = table.Column<string>(type: "nvarchar(2048)", maxLength: 2048, nullable: false),
                    product_code = table.Column<string>(type: "nvarchar(128)", maxLength: 128, nullable: false),
                    organization_id = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    integration_id = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    billing_period = table.Column<DateOnly>(type: "date", nullable: false),
                    package = table.Column<string>(type: "nvarchar(256)", maxLength: 256, nullable: false),
                    currency = table.Column<string>(type: "nvarchar(8)", maxLength: 8, nullable: false),
                    unblended = table.Column<decimal>(type: "decimal(28,10)", precision: 28, scale: 10, nullable: false),
                    net_unblended = table.Column<decimal>(type: "decimal(28,10)", precision: 28, scale: 10, nullable: false),
                    amortized = table.Column<decimal>(type: "decimal(28,10)", precision: 28, scale: 10, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_daily_resource_costs", x => x.id);
                    table.ForeignKey(
                        name: "FK_daily_resource_costs_integrations_integration_id",
                        column: x => x.integration_id,
                        principalTable: "integrations",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "monthly_package_costs",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("SqlServer:Identity", "1, 1"),
                    month = table.Column<DateOnly>(type: "date", nullable: false),
                    organization_id = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    integration_id = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    billing_period = table.Column<DateOnly>(type: "date", nullable: false),
                    package = table.Column<string>(type: "nvarchar(256)", maxLength: 256, nullable: false),
                    currency = table.Column<string>(type: "nvarchar(8)", maxLength: 8, nullable: false),
                    unblended = table.Column<decimal>(type: "decimal(28,10)", precision: 28, scale: 10, nullable: false),
                    net_unblended = table.Column<decimal>(type: "decimal(28,10)", precision: 28, scale: 10, nullable: false),
                    amortized = table.Column<decimal>(type: "decimal(28,10)", precision: 28, scale: 10, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_monthly_package_costs", x => x.id);
                    table.ForeignKey(
                        name: "FK_monthly_package_costs_integrations_integration_id",
                        column: x => x.integration_id,
                        principalTable: "integrations",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_api_keys_key_id",
                table: "api_keys",
                column: "key_id",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_api_keys_organization_id",
                table: "api_keys",
                column: "organization_id");

            migrationBuilder.CreateIndex(
                name: "IX_billing_periods_organization_id_period_start",
                table: "billing_periods",
                columns: new[] { "organization_id", "period_start" });

            migrationBuilder.CreateIndex(
                name: "IX_collection_runs_integration_id_started_at",
                table: "collection_runs",
                columns: new[] { "integration_id", "started_at" });

            migrationBuilder.CreateIndex(
                name: "IX_collection_runs_organization_id_started_at",
                table: "collection_runs",
                columns: new[] { "organization_id", "started_at" });

            migrationBuilder.CreateIndex(
                name: "IX_collection_runs_workflow_id",
                table: "collection_runs",
                column: "workflow_id",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_daily_package_costs_integration_id_billing_period",
                table: "daily_package_costs",
                columns: new[] { "integration_id", "billing_period" });

            migrationBuilder.CreateIndex(
                name: "IX_daily_package_costs_integration_id_usage_date_package",
                table: "daily_package_costs",
                columns: new[] { "integration_id", "usage_date", "package" });

            migrationBuilder.CreateIndex(
                name: "IX_daily_package_costs_organization_id_usage_date_package",
                table: "daily_package_costs",
                columns: new[] { "organization_id", "usage_date", "package" });

            migrationBuilder.CreateIndex(
                name: "IX_daily_resource_costs_integration_id_billing_period",
                table: "daily_resource_costs",
                columns: new[] { "integration_id", "billing_period" });

            migrationBuilder.CreateIndex(
                name: "IX_daily_resource_costs_organization_id_package_usage_date",
                table: "daily_resource_costs",
                columns: new[] { "organization_id", "package", "usage_date" });

            migrationBuilder.CreateIndex(
                name: "IX_integrations_organization_id_bucket_name_role_arn",
                table: "integrations",
                columns: new[] { "organization_id", "bucket_name", "role_arn" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_monthly_package_costs_integration_id_billing_period",
                table: "monthly_package_costs",
                columns: new[] { "integration_id", "billing_period" });

            migrationBuilder.CreateIndex(
                name: "IX_monthly_package_costs_organization_id_month_package",
                table: "monthly_package_costs",
                columns: new[] { "organization_id", "month", "package" });

            migrationBuilder.CreateIndex(
                name: "IX_staging_daily_package_costs_collection_run_id_integration_id_billing_period",
                table: "staging_daily_package_costs",
                columns: new[] { "collection_run_id", "integration_id", "billing_period" });

            migrationBuilder.CreateIndex(
                name: "IX_staging_daily_resource_costs_collection_run_id_integration_id_billing_period",
                table: "staging_daily_resource_costs",
                columns: new[] { "collection_run_id", "integration_id", "billing_period" });

            migrationBuilder.CreateIndex(
                name: "IX_staging_monthly_package_costs_collection_run_id_integration_id_billing_period",
                table: "staging_monthly_package_costs",
                columns: new[] { "collection_run_id", "integration_id", "billing_period" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "api_keys");

            migrationBuilder.DropTable(
                name: "billing_periods");

            migrationBuilder.DropTable(
                name: "collection_runs");

            migrationBuilder.DropTable(
                name: "daily_package_costs");

            migrationBuilder.DropTable(
                name: "daily_resource_costs");

            migrationBuilder.DropTable(
                name: "monthly_package_costs");

            migrationBuilder.DropTable(
                name: "staging_daily_package_costs");

            migrationBuilder.DropTable(
                name: "staging_daily_resource_costs");

            migrationBuilder.DropTable(
                name: "staging_monthly_package_costs");

            migrationBuilder.DropTable(
                name: "integrations");

            migrationBuilder.DropTable(
                name: "organizations");
        }
    }
}
