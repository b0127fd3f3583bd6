/**
 * 住民基本台帳 (resident record): the items of 住民記録システム標準仕様書 (総務省) chapter 3 —
 * §1.1.1 Japanese residents, §1.1.2 foreign residents, §1.1.13 宛名番号/世帯番号, §1.1.16 支援措置,
 * §1.1.18 フリガナ. One record per person; the household is its 世帯番号.
 */

/** 続柄 as §1.1.11 allows them (祖父, 孫, 甥 are not: they are written as 「の」 chains). */
export const RELATIONSHIPS = [
  '世帯主', '夫', '妻', '夫（未届）', '妻（未届）', '子', '子の夫', '子の妻', '子の子', '子の子の夫', '子の子の妻', '子の子の子',
  '父', '母', '父の父', '父の母', '母の父', '母の母', '兄', '姉', '弟', '妹', '兄の妻', '弟の妻', '姉の夫', '妹の夫',
  '兄の子', '姉の子', '弟の子', '妹の子', '妻の父', '妻の母', '夫の父', '夫の母', '縁故者', '同居人',
] as const;

export const JUMINHYO = {
  fields: [
    { name: 'atena_number', label: '宛名番号', type: 'atena-number', required: true, unique: true },
    { name: 'household_number', label: '世帯番号', type: 'household-number', required: true, searchable: true },
    { name: 'resident_type', label: '住民種別', type: 'enum', values: ['日本人', '外国人'], required: true, classification: 'public' },
    { name: 'status', label: '住民状態', type: 'enum', values: ['住民', '転出', '死亡', '職権消除'], required: true },
    { name: 'name', label: '氏名', type: 'string', required: true, searchable: true, maxLength: 100, fold: ['space', 'kanji'], mask: 'initial' },
    { name: 'name_kana', label: '氏名フリガナ', type: 'kana', searchable: true, maxLength: 200 },
    { name: 'name_kana_confirmed', label: 'フリガナ本人確認', type: 'boolean' },
    { name: 'former_surname', label: '旧氏', type: 'string', maxLength: 50, fold: ['space', 'kanji'], mask: 'initial' },
    { name: 'former_surname_kana', label: '旧氏フリガナ', type: 'kana', maxLength: 100 },
    { name: 'alias', label: '通称', type: 'string', maxLength: 100, searchable: true, fold: ['space', 'kanji'], mask: 'initial' },
    { name: 'alias_kana', label: '通称フリガナ', type: 'kana', maxLength: 200 },
    { name: 'latin_name', label: 'ローマ字氏名', type: 'string', maxLength: 200, mask: 'initial' },
    { name: 'birth_date', label: '生年月日', type: 'jp-date', required: true, searchable: true },
    { name: 'sex', label: '性別', type: 'enum', values: ['男', '女'], required: true },
    { name: 'householder_name', label: '世帯主氏名', type: 'string', maxLength: 100, mask: 'initial' },
    { name: 'relationship', label: '続柄', type: 'enum', values: [...RELATIONSHIPS], required: true },
    { name: 'member_order', label: '世帯内順位', type: 'integer', minimum: 1, maximum: 99, classification: 'public' },
    { name: 'honseki', label: '本籍', type: 'string', maxLength: 200, classification: 'sensitive' },
    { name: 'hittosha', label: '筆頭者', type: 'string', maxLength: 100, classification: 'sensitive', mask: 'initial' },
    { name: 'local_gov_code', label: '市区町村コード', type: 'local-gov-code', required: true },
    { name: 'postal_code', label: '郵便番号', type: 'postal-code' },
    { name: 'address', label: '住所', type: 'string', required: true, searchable: true, maxLength: 200, fold: ['space', 'dash'] },
    { name: 'katagaki', label: '方書', type: 'string', maxLength: 200, fold: ['space', 'dash'] },
    { name: 'address_since', label: '住所を定めた年月日', type: 'jp-date' },
    { name: 'resident_since', label: '住民となった年月日', type: 'jp-date' },
    { name: 'notified_on', label: '届出年月日', type: 'jp-date' },
    { name: 'previous_address', label: '前住所', type: 'string', maxLength: 200, fold: ['space', 'dash'] },
    { name: 'my_number', label: '個人番号', type: 'my-number', unique: true },
    { name: 'juminhyo_code', label: '住民票コード', type: 'juminhyo-code', unique: true },
    { name: 'nationality', label: '国籍・地域', type: 'string', maxLength: 100 },
    { name: 'residence_status', label: '在留資格', type: 'string', maxLength: 100, classification: 'sensitive' },
    { name: 'residence_card_number', label: '在留カード等番号', type: 'string', maxLength: 12, mask: 'last4' },
    { name: 'residence_expiry', label: '在留期間等の満了の日', type: 'jp-date' },
    { name: 'electoral_roll', label: '選挙人名簿登録', type: 'boolean' },
    { name: 'nhi_insured', label: '国民健康保険被保険者', type: 'boolean' },
    { name: 'elderly_medical_insured', label: '後期高齢者医療被保険者', type: 'boolean' },
    { name: 'ltc_insured', label: '介護保険被保険者', type: 'boolean' },
    { name: 'pension_category', label: '国民年金種別', type: 'enum', values: ['第1号', '第2号', '第3号'] },
    { name: 'basic_pension_number', label: '基礎年金番号', type: 'string', maxLength: 11, mask: 'last4' },
    { name: 'dv_support', label: '支援措置対象', type: 'boolean', classification: 'sensitive' },
    { name: 'dv_support_until', label: '支援措置期限', type: 'jp-date', classification: 'sensitive' },
    { name: 'remarks', label: '備考', type: 'string', maxLength: 1000, classification: 'sensitive' },
  ],
} as const;
