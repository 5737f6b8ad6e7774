using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CurWorkflows.Storage.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class CostRowsCarryTheirRun : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_monthly_package_costs_integration_id_billing_period",
                table: "monthly_package_costs");

            migrationBuilder.DropIndex(
                name: "IX_monthly_package_costs_organization_id_month_package",
                table: "monthly_package_costs");

            migrationBuilder.DropIndex(
                name: "IX_daily_resource_costs_integration_id_billing_period",
                table: "daily_resource_costs");

            migrationBuilder.DropIndex(
                name: "IX_daily_resource_costs_organization_id_package_usage_date",
                table: "daily_resource_costs");

            migrationBuilder.DropIndex(
                name: "IX_daily_package_costs_integration_id_billing_period",
                table: "daily_package_costs");

            migrationBuilder.DropIndex(
                name: "IX_daily_package_costs_integration_id_usage_date_package",
                table: "daily_package_costs");

            migrationBuilder.DropIndex(
                name: "IX_daily_package_costs_organization_id_usage_date_package",
                table: "daily_package_costs");

            migrationBuilder.AddColumn<Guid>(
                name: "collection_run_id",
                table: "monthly_package_costs",
                type: "TEXT",
                nullable: false,
                defaultValue: new Guid("00000000-0000-0000-0000-000000000000"));

            migrationBuilder.AddColumn<Guid>(
                name: "collection_run_id",
                table: "daily_resource_costs",
                type: "TEXT",
                nullable: false,
                defaultValue: new Guid("00000000-0000-0000-0000-000000000000"));

            migrationBuilder.AddColumn<Guid>(
                name: "collection_run_id",
                table: "daily_package_costs",
                type: "TEXT",
                nullable: false,
                defaultValue: new Guid("00000000-0000-0000-0000-000000000000"));

            migrationBuilder.CreateTable(
                name: "cost_generations",
                columns: table => new
                {
                    collection_run_id = table.Column<Guid>(type: "TEXT", nullable: false),
                    integration_id = table.Column<Guid>(type: "TEXT", nullable: false),
                    billing_period = table.Column<DateOnly>(type: "TEXT", nullable: false),
                    created_at = table.Column<long>(type: "INTEGER", nullable: false),
                    superseded_at = table.Column<long>(type: "INTEGER", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_cost_generations", x => new { x.collection_run_id, x.integration_id, x.billing_period });
                });

            // Before the staging tables go: existing rows keep being the active generation, staged rows move over.
            CostRowsCarryTheirRunData.Up(migrationBuilder);

            migrationBuilder.DropTable(
                name: "staging_daily_package_costs");

            migrationBuilder.DropTable(
                name: "staging_daily_resource_costs");

            migrationBuilder.DropTable(
                name: "staging_monthly_package_costs");

            migrationBuilder.CreateIndex(
                name: "IX_monthly_package_costs_collection_run_id_month_package",
                table: "monthly_package_costs",
                columns: new[] { "collection_run_id", "month", "package" });

            migrationBuilder.CreateIndex(
                name: "IX_daily_resource_costs_collection_run_id_package_usage_date",
                table: "daily_resource_costs",
                columns: new[] { "collection_run_id", "package", "usage_date" });

            migrationBuilder.CreateIndex(
                name: "IX_daily_package_costs_collection_run_id_usage_date_package",
                table: "daily_package_costs",
                columns: new[] { "collection_run_id", "usage_date", "package" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "cost_generations");

            migrationBuilder.DropIndex(
                name: "IX_monthly_package_costs_collection_run_id_month_package",
                table: "monthly_package_costs");

            migrationBuilder.DropIndex(
                name: "IX_daily_resource_costs_collection_run_id_package_usage_date",
                table: "daily_resource_costs");

            migrationBuilder.DropIndex(
                name: "IX_daily_package_costs_collection_run_id_usage_date_package",
                table: "daily_package_costs");

            migrationBuilder.DropColumn(
                name: "collection_run_id",
                table: "monthly_package_costs");

            migrationBuilder.DropColumn(
                name: "collection_run_id",
                table: "daily_resource_costs");

            migrationBuilder.DropColumn(
                name: "collection_run_id",
                table: "daily_package_costs");

            migrationBuilder.CreateTable(
                name: "staging_daily_package_costs",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    amortized = table.Column<decimal>(type: "TEXT", precision: 28, scale: 12, nullable: false),
                    billing_period = table.Column<DateOnly>(type: "TEXT", nullable: false),
                    collection_run_id = table.Column<Guid>(type: "TEXT", nullable: false),
                    currency = table.Column<string>(type: "TEXT", maxLength: 8, nullable: false),
                    integration_id = table.Column<Guid>(type: "TEXT", nullable: false),
                    net_unblended = table.Column<decimal>(type: "TEXT", precision: 28, scale: 12, nullable: false),
                    package = table.Column<string>(type: "TEXT", maxLength: 256, nullable: false),
                    product_code = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false),
                    staged_at = table.Column<long>(type: "INTEGER", nullable: false),
                    unblended = table.Column<decimal>(type: "TEXT", precision: 28, scale: 12, nullable: false),
                    usage_date = table.Column<DateOnly>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_staging_daily_package_costs", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "staging_daily_resource_costs",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    amortized = table.Column<decimal>(type: "TEXT", precision: 28, scale: 12, nullable: false),
                    billing_period = table.Column<DateOnly>(type: "TEXT", nullable: false),
                    collection_run_id = table.Column<Guid>(type: "TEXT", nullable: false),
                    currency = table.Column<string>(type: "TEXT", maxLength: 8, nullable: false),
                    integration_id = table.Column<Guid>(type: "TEXT", nullable: false),
                    net_unblended = table.Column<decimal>(type: "TEXT", precision: 28, scale: 12, nullable: false),
                    package = table.Column<string>(type: "TEXT", maxLength: 256, nullable: false),
                    product_code = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false),
                    resource_id = table.Column<string>(type: "TEXT", maxLength: 2048, nullable: false),
                    staged_at = table.Column<long>(type: "INTEGER", nullable: false),
                    unblended = table.Column<decimal>(type: "TEXT", precision: 28, scale: 12, nullable: false),
                    usage_date = table.Column<DateOnly>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_staging_daily_resource_costs", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "staging_monthly_package_costs",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    amortized = table.Column<decimal>(type: "TEXT", precision: 28, scale: 12, nullable: false),
                    billing_period = table.Column<DateOnly>(type: "TEXT", nullable: false),
                    collection_run_id = table.Column<Guid>(type: "TEXT", nullable: false),
                    currency = table.Column<string>(type: "TEXT", maxLength: 8, nullable: false),
                    integration_id = table.Column<Guid>(type: "TEXT", nullable: false),
                    month = table.Column<DateOnly>(type: "TEXT", nullable: false),
                    net_unblended = table.Column<decimal>(type: "TEXT", precision: 28, scale: 12, nullable: false),
                    package = table.Column<string>(type: "TEXT", maxLength: 256, nullable: false),
                    staged_at = table.Column<long>(type: "INTEGER", nullable: false),
                    unblended = table.Column<decimal>(type: "TEXT", precision: 28, scale: 12, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_staging_monthly_package_costs", x => x.id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_monthly_package_costs_integration_id_billing_period",
                table: "monthly_package_costs",
                columns: new[] { "integration_id", "billing_period" });

            migrationBuilder.CreateIndex(
                name: "IX_monthly_package_costs_organization_id_month_package",
                table: "monthly_package_costs",
                columns: new[] { "organization_id", "month", "package" });

            migrationBuilder.CreateIndex(
                name: "IX_daily_resource_costs_integration_id_billing_period",
                table: "daily_resource_costs",
                columns: new[] { "integration_id", "billing_period" });

            migrationBuilder.CreateIndex(
                name: "IX_daily_resource_costs_organization_id_package_usage_date",
                table: "daily_resource_costs",
                columns: new[] { "organization_id", "package", "usage_date" });

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
    }
}
