-- Umami's PostgreSQL tables as the tests need them: table and column names and types
-- follow Umami 3.x's Prisma schema (prisma/schema.prisma, provider postgresql,
-- relationMode "prisma": no foreign keys). Written for these tests, not copied from
-- Umami's migrations; only the tables the backup/restore/retention tests touch,
-- plus the non-visitor tables retention must leave alone.

CREATE TABLE "user" (
    user_id uuid PRIMARY KEY,
    username varchar(255) NOT NULL UNIQUE,
    password varchar(60) NOT NULL,
    role varchar(50) NOT NULL,
    logo_url varchar(2183),
    display_name varchar(255),
    created_at timestamptz(6) DEFAULT now(),
    updated_at timestamptz(6),
    deleted_at timestamptz(6)
);

CREATE TABLE website (
    website_id uuid PRIMARY KEY,
    name varchar(100) NOT NULL,
    domain varchar(500),
    share_id varchar(50) UNIQUE,
    reset_at timestamptz(6),
    user_id uuid,
    team_id uuid,
    created_by uuid,
    created_at timestamptz(6) DEFAULT now(),
    updated_at timestamptz(6),
    deleted_at timestamptz(6)
);

CREATE TABLE session (
    session_id uuid PRIMARY KEY,
    website_id uuid NOT NULL,
    browser varchar(20),
    os varchar(20),
    device varchar(20),
    screen varchar(11),
    language varchar(35),
    country char(2),
    region varchar(20),
    city varchar(50),
    distinct_id varchar(50),
    created_at timestamptz(6) DEFAULT now()
);
CREATE INDEX session_created_at_idx ON session (created_at);
CREATE INDEX session_website_id_idx ON session (website_id);

CREATE TABLE website_event (
    event_id uuid PRIMARY KEY,
    website_id uuid NOT NULL,
    session_id uuid NOT NULL,
    visit_id uuid NOT NULL,
    created_at timestamptz(6) DEFAULT now(),
    url_path varchar(500) NOT NULL,
    url_query varchar(500),
    utm_source varchar(255),
    utm_medium varchar(255),
    utm_campaign varchar(255),
    utm_content varchar(255),
    utm_term varchar(255),
    referrer_path varchar(500),
    referrer_query varchar(500),
    referrer_domain varchar(500),
    page_title varchar(500),
    gclid varchar(255),
    fbclid varchar(255),
    msclkid varchar(255),
    ttclid varchar(255),
    li_fat_id varchar(255),
    twclid varchar(255),
    event_type integer NOT NULL DEFAULT 1,
    event_name varchar(50),
    tag varchar(50),
    hostname varchar(100)
);
CREATE INDEX website_event_created_at_idx ON website_event (created_at);
CREATE INDEX website_event_session_id_idx ON website_event (session_id);

CREATE TABLE event_data (
    event_data_id uuid PRIMARY KEY,
    website_id uuid NOT NULL,
    website_event_id uuid NOT NULL,
    data_key varchar(500) NOT NULL,
    string_value varchar(500),
    number_value decimal(19, 4),
    date_value timestamptz(6),
    data_type integer NOT NULL,
    created_at timestamptz(6) DEFAULT now()
);

CREATE TABLE session_data (
    session_data_id uuid PRIMARY KEY,
    website_id uuid NOT NULL,
    session_id uuid NOT NULL,
    data_key varchar(500) NOT NULL,
    string_value varchar(500),
    number_value decimal(19, 4),
    date_value timestamptz(6),
    data_type integer NOT NULL,
    distinct_id varchar(50),
    created_at timestamptz(6) DEFAULT now()
);

CREATE TABLE revenue (
    revenue_id uuid PRIMARY KEY,
    website_id uuid NOT NULL,
    session_id uuid NOT NULL,
    event_id uuid NOT NULL,
    event_name varchar(50) NOT NULL,
    currency varchar(10) NOT NULL,
    revenue decimal(19, 4),
    created_at timestamptz(6) DEFAULT now()
);

CREATE TABLE report (
    report_id uuid PRIMARY KEY,
    user_id uuid NOT NULL,
    website_id uuid NOT NULL,
    type varchar(50) NOT NULL,
    name varchar(200) NOT NULL,
    description varchar(500) NOT NULL,
    parameters jsonb NOT NULL,
    created_at timestamptz(6) DEFAULT now(),
    updated_at timestamptz(6)
);

CREATE TABLE _prisma_migrations (
    id varchar(36) PRIMARY KEY,
    checksum varchar(64) NOT NULL,
    finished_at timestamptz,
    migration_name varchar(255) NOT NULL,
    logs text,
    rolled_back_at timestamptz,
    started_at timestamptz NOT NULL DEFAULT now(),
    applied_steps_count integer NOT NULL DEFAULT 0
);
